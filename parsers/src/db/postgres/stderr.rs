//! The stderr format: framing of multi-line messages and parsing one into an [`Entry`].

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use memchr::{memchr, memrchr};

use super::Entry;
use super::prefix::{DEFAULT_PREFIXES, FOLLOW_UPS, LineHead, NoMatch, Prefix, find};
use crate::error::{ErrorKind, ParseError};

/// The configured prefix, or the defaults tried in turn (the last one that matched first).
#[derive(Debug)]
pub(crate) struct Prefixes {
    list: Vec<Prefix>,
    last: AtomicUsize,
}

impl Clone for Prefixes {
    fn clone(&self) -> Self {
        Prefixes {
            list: self.list.clone(),
            last: AtomicUsize::new(self.last.load(Ordering::Relaxed)),
        }
    }
}

impl Prefixes {
    pub(crate) fn new(configured: Option<Prefix>) -> Prefixes {
        let list = match configured {
            Some(p) => vec![p],
            None => DEFAULT_PREFIXES
                .iter()
                .map(|p| Prefix::parse(p).expect("built-in prefixes compile"))
                .collect(),
        };
        Prefixes {
            list,
            last: AtomicUsize::new(0),
        }
    }

    /// Matches `line` with the prefix that matched last, then the others.
    pub(crate) fn match_line<'a>(&self, line: &'a str) -> Result<LineHead<'a>, NoMatch> {
        let first = self.last.load(Ordering::Relaxed).min(self.list.len() - 1);
        let mut worst = match self.list[first].match_line(line) {
            Ok(h) => return Ok(h),
            Err(e) => e,
        };
        for (i, p) in self.list.iter().enumerate() {
            if i == first {
                continue;
            }
            match p.match_line(line) {
                Ok(h) => {
                    self.last.store(i, Ordering::Relaxed);
                    return Ok(h);
                }
                Err(e) if e.bad_time || e.at > worst.at => worst = e,
                Err(_) => {}
            }
        }
        Err(worst)
    }

    fn describe(&self) -> String {
        let names: Vec<String> = self
            .list
            .iter()
            .map(|p| format!("`{}`", p.as_str()))
            .collect();
        names.join(" or ")
    }
}

/// The text of a line as far as it is valid UTF-8 (enough for a prefix).
fn str_head(line: &[u8]) -> &str {
    match std::str::from_utf8(line) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&line[..e.valid_up_to()]).expect("valid prefix"),
    }
}

/// Whether a line (not starting with a tab) may be a follow-up: its first `:  ` comes after
/// a follow-up word. Cheap, so most lines need no prefix match while framing.
fn maybe_follow_up(line: &[u8]) -> bool {
    let Some(c) = find(line, b":  ") else {
        return false;
    };
    let word_start = line[..c]
        .iter()
        .rposition(|&b| b == b' ' || b == b']' || b == b'\t')
        .map_or(0, |p| p + 1);
    let word = &line[word_start..c];
    !matches!(
        word,
        b"LOG" | b"ERROR" | b"FATAL" | b"PANIC" | b"WARNING" | b"NOTICE" | b"INFO" | b"DEBUG"
    )
}

/// Pid and level of a line, if the prefix matches.
fn pid_level<'a>(p: &Prefixes, line: &'a [u8]) -> Option<(Option<&'a str>, &'a str)> {
    let h = p.match_line(str_head(line)).ok()?;
    Some((h.fields.pid, h.level))
}

/// Length of the first record of `buf` (see the grammar in `mod.rs`).
pub(crate) fn frame(p: &Prefixes, buf: &[u8], eof: bool) -> Option<usize> {
    let first_end = match memchr(b'\n', buf) {
        Some(i) => i + 1,
        None => return (eof && !buf.is_empty()).then_some(buf.len()),
    };
    // The head's pid, looked up only when a follow-up candidate shows up.
    let mut head: Option<Option<Option<&str>>> = None;
    let mut end = first_end;
    loop {
        let rest = &buf[end..];
        if rest.is_empty() {
            return eof.then_some(end);
        }
        let line_len = match memchr(b'\n', rest) {
            Some(i) => i + 1,
            None if eof => rest.len(),
            None => return None,
        };
        let line = &rest[..line_len];
        if line[0] == b'\t' {
            end += line_len;
            continue;
        }
        if !maybe_follow_up(line) {
            return Some(end);
        }
        let Some((pid, level)) = pid_level(p, line) else {
            return Some(end);
        };
        if !FOLLOW_UPS.contains(&level) {
            return Some(end);
        }
        let head_pid = *head.get_or_insert_with(|| pid_level(p, &buf[..first_end]).map(|x| x.0));
        match head_pid {
            // The head itself does not parse: keep it alone.
            None => return Some(end),
            Some(hp) if hp != pid => return Some(end),
            Some(_) => end += line_len,
        }
    }
}

/// Lines of a record with their start offsets, `\n` (and `\r`) removed.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= text.len() {
            return None;
        }
        let rest = &text[at..];
        let (line, used) = match rest.find('\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        let start = at;
        at += used;
        Some((start, line.strip_suffix('\r').unwrap_or(line)))
    })
}

/// Appends a continuation (without its tab) to a text being built.
fn extend<'a>(acc: &mut Cow<'a, str>, cont: &'a str) {
    let s = acc.to_mut();
    s.push('\n');
    s.push_str(cont);
}

/// Parses one framed record.
pub(crate) fn parse<'a>(p: &Prefixes, text: &'a str) -> Result<Entry<'a>, ParseError> {
    let mut it = lines(text);
    let (_, first) = it.next().expect("a non-blank record has a line");
    if first.starts_with('\t') {
        return Err(ParseError::new(
            ErrorKind::Malformed,
            0,
            "continuation line (tab-indented) without the message it continues",
        ));
    }
    let head = p.match_line(first).map_err(|e| {
        if e.bad_time {
            ParseError::new(
                ErrorKind::BadTimestamp,
                e.at,
                "log_line_prefix timestamp is not a valid time with a known zone",
            )
        } else {
            ParseError::new(
                ErrorKind::Malformed,
                e.at,
                format!(
                    "line does not match log_line_prefix {} followed by `LEVEL:  `",
                    p.describe()
                ),
            )
        }
    })?;
    let f = head.fields;
    let mut text_at = head.text_at;
    let mut sqlstate = f.sqlstate.filter(|s| *s != "00000");
    // log_error_verbosity = verbose puts the SQLSTATE in front of the text: `42P01: ...`.
    if head.level != "LOG"
        && let Some(code) = first.get(text_at..text_at + 7)
        && code.ends_with(": ")
        && code[..5]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && code[..5].bytes().any(|b| b.is_ascii_digit())
    {
        sqlstate = sqlstate.or(Some(&first[text_at..text_at + 5]));
        text_at += 7;
    }
    // The stderr layout appends the error position to the text; csvlog and jsonlog have
    // it in a field of its own.
    let mut position = None;
    let mut head_text = &first[text_at..];
    if let Some(sp) = memrchr(b' ', head_text.as_bytes())
        && sp + 1 < head_text.len()
        && head_text.as_bytes()[sp + 1..]
            .iter()
            .all(u8::is_ascii_digit)
        && let Some(m) = head_text[..sp].strip_suffix(" at character")
    {
        position = Some(&head_text[sp + 1..]);
        head_text = m;
    }
    let mut e = Entry {
        ts_us: f.ts_us,
        pid: f.pid,
        user: f.user,
        database: f.database,
        client: f.client,
        application: f.application,
        session: f.session,
        backend_type: f.backend_type,
        command_tag: f.command_tag,
        query_id: f.query_id.filter(|q| *q != "0"),
        level: head.level,
        sqlstate,
        message: Cow::Borrowed(head_text),
        position,
        ..Default::default()
    };
    // Which text the continuation lines extend: 0 = message, then the follow-ups.
    let mut slot: usize = 0;
    for (at, line) in it {
        if let Some(cont) = line.strip_prefix('\t') {
            let target = match slot {
                0 => Some(&mut e.message),
                1 => e.detail.as_mut(),
                2 => e.hint.as_mut(),
                3 => e.context.as_mut(),
                4 => e.statement.as_mut(),
                5 => e.internal_query.as_mut(),
                _ => e.location.as_mut(),
            };
            if let Some(t) = target {
                extend(t, cont);
            }
            continue;
        }
        let h = p.match_line(line).map_err(|_| {
            ParseError::new(
                ErrorKind::Malformed,
                at,
                "follow-up line does not match log_line_prefix",
            )
        })?;
        let body = Some(Cow::Borrowed(&line[h.text_at..]));
        slot = match h.level {
            "DETAIL" => {
                e.detail = body;
                1
            }
            "HINT" => {
                e.hint = body;
                2
            }
            "CONTEXT" => {
                e.context = body;
                3
            }
            "STATEMENT" => {
                e.statement = body;
                4
            }
            "QUERY" => {
                e.internal_query = body;
                5
            }
            _ => {
                e.location = body;
                6
            }
        };
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> Prefixes {
        Prefixes::new(None)
    }

    const LOG: &str = "\
2026-12-01 07:51:45.115 UTC [31744] postgres@postgres LOG:  duration: 0.622 ms  statement: select 'it''s'
\t  , 42
\tfrom t;
2026-12-01 07:51:45.116 UTC [31744] postgres@postgres ERROR:  relation \"nosuchtable\" does not exist at character 15
2026-12-01 07:51:45.116 UTC [31745] postgres@postgres LOG:  duration: 1.000 ms  statement: select 2
2026-12-01 07:51:45.116 UTC [31744] postgres@postgres STATEMENT:  select * from nosuchtable;
2026-12-01 07:51:45.117 UTC [31553] LOG:  checkpoint starting: time
";

    fn records(buf: &[u8]) -> Vec<&[u8]> {
        let p = prefixes();
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(n) = frame(&p, &buf[at..], true) {
            out.push(&buf[at..at + n]);
            at += n;
        }
        out
    }

    #[test]
    fn frames_continuations_and_same_pid_follow_ups_only() {
        let r = records(LOG.as_bytes());
        assert_eq!(r.len(), 5, "{r:#?}");
        assert!(r[0].ends_with(b"\tfrom t;\n"));
        // The STATEMENT of pid 31744 follows another backend's line: its own record.
        assert!(
            r[3].starts_with(b"2026-12-01 07:51:45.116 UTC [31744] postgres@postgres STATEMENT")
        );
        // Without eof the last record waits: a continuation could follow.
        let p = prefixes();
        let last = LOG.rfind("2026").unwrap();
        assert_eq!(frame(&p, &LOG.as_bytes()[last..], false), None);
    }

    #[test]
    fn parses_multiline_statement_without_tabs() {
        let p = prefixes();
        let r = records(LOG.as_bytes());
        let e = parse(&p, std::str::from_utf8(r[0]).unwrap()).unwrap();
        assert_eq!(
            e.message,
            "duration: 0.622 ms  statement: select 'it''s'\n  , 42\nfrom t;"
        );
        assert_eq!(
            (e.pid, e.user, e.level),
            (Some("31744"), Some("postgres"), "LOG")
        );
    }

    #[test]
    fn joins_follow_ups() {
        let p = prefixes();
        let rec = "\
2026-12-01 07:51:50.396 UTC [31909] postgres@postgres ERROR:  deadlock detected
2026-12-01 07:51:50.396 UTC [31909] postgres@postgres DETAIL:  Process 31909 waits for ShareLock on transaction 817; blocked by process 31911.
\tProcess 31911 waits for ShareLock on transaction 816; blocked by process 31909.
2026-12-01 07:51:50.396 UTC [31909] postgres@postgres HINT:  See server log for query details.
2026-12-01 07:51:50.396 UTC [31909] postgres@postgres CONTEXT:  while updating tuple (0,2) in relation \"t\"
2026-12-01 07:51:50.396 UTC [31909] postgres@postgres STATEMENT:  update t set v='a2' where id=2;
2026-12-01 07:51:50.397 UTC [31911] postgres@postgres LOG:  duration: 52.047 ms  statement: select 1
";
        let r = records(rec.as_bytes());
        assert_eq!(r.len(), 2);
        let e = parse(&p, std::str::from_utf8(r[0]).unwrap()).unwrap();
        assert_eq!(e.message, "deadlock detected");
        assert!(
            e.detail
                .as_deref()
                .unwrap()
                .ends_with("blocked by process 31909.")
        );
        assert!(e.detail.as_deref().unwrap().contains(".\nProcess 31911"));
        assert_eq!(e.hint.as_deref(), Some("See server log for query details."));
        assert_eq!(
            e.statement.as_deref(),
            Some("update t set v='a2' where id=2;")
        );
        assert!(e.context.as_deref().unwrap().starts_with("while updating"));
    }

    #[test]
    fn verbose_sqlstate_and_bad_lines() {
        let p = prefixes();
        let e = parse(
            &p,
            "2026-12-01 07:51:45.116 UTC [1] u@d ERROR:  42P01: relation \"x\" does not exist",
        )
        .unwrap();
        assert_eq!(e.sqlstate, Some("42P01"));
        assert_eq!(e.message, "relation \"x\" does not exist");
        let err = parse(&p, "waiting for server to start.... done").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Malformed);
        let err = parse(&p, "\torphan").unwrap_err();
        assert_eq!(err.offset, 0);
    }
}
