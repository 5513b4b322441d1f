//! Alert state machine (Prometheus semantics) and summary templates.
//!
//! Per group: inactive → (condition true) → pending → (true for `for`) → firing →
//! (condition false) → resolved/inactive. Pending that turns false drops back to inactive
//! silently. Only transitions are emitted.

use crate::config::{AlertConfig, CmpOp};
use crate::output::{AlertEvent, AlertState};

/// Placeholders every summary template may use, besides the `group_by` columns.
pub(crate) const BUILTIN_PLACEHOLDERS: [&str; 6] =
    ["rule", "value", "op", "threshold", "severity", "state"];

/// Summary used when the rule has none; the group's labels are appended.
pub(crate) const DEFAULT_SUMMARY: &str = "{rule}: value {value} {op} {threshold}";

/// Names of the `{placeholders}` in a template; `{{` and `}}` are literal braces.
pub(crate) fn template_placeholders(template: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    parse_template(template, |piece| {
        if let Piece::Placeholder(name) = piece {
            names.push(name.to_string());
        }
    })?;
    Ok(names)
}

enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

fn parse_template<'a>(template: &'a str, mut f: impl FnMut(Piece<'a>)) -> Result<(), String> {
    let mut rest = template;
    while !rest.is_empty() {
        let Some(i) = rest.find(['{', '}']) else {
            f(Piece::Text(rest));
            break;
        };
        f(Piece::Text(&rest[..i]));
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{") {
            f(Piece::Text("{"));
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            f(Piece::Text("}"));
            rest = after;
        } else if tail.starts_with('}') {
            return Err("unmatched `}` in template (write `}}` for a literal brace)".into());
        } else {
            let Some(close) = tail.find('}') else {
                return Err("unclosed `{` in template (write `{{` for a literal brace)".into());
            };
            let name = &tail[1..close];
            if !crate::config::is_identifier(name) {
                return Err(format!("invalid placeholder {{{name}}}"));
            }
            f(Piece::Placeholder(name));
            rest = &tail[close + 1..];
        }
    }
    Ok(())
}

/// Formats an aggregate value for summaries: `3`, `2.5`, `n/a` for none.
pub(crate) fn format_value(v: Option<f64>) -> String {
    match v {
        Some(v) => format!("{v}"),
        None => "n/a".into(),
    }
}

/// Active (pending or firing) state of one group; inactive groups have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Active {
    Pending { since: i64 },
    Firing { since: i64 },
}

/// The compiled alert part of a rule.
#[derive(Debug, Clone)]
pub(crate) struct AlertRule {
    pub op: CmpOp,
    pub threshold: f64,
    /// `for`, in µs.
    pub hold: i64,
    pub severity: String,
    pub summary: Option<String>,
}

/// Outcome of evaluating one group at one window close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    /// State after the window.
    pub next: Option<Active>,
    /// Transition to emit, with its `active_since`.
    pub emit: Option<(AlertState, i64)>,
}

impl AlertRule {
    pub fn new(config: &AlertConfig, hold: i64) -> AlertRule {
        AlertRule {
            op: config.op,
            threshold: config.threshold,
            hold,
            severity: config
                .severity
                .clone()
                .unwrap_or_else(|| "warning".to_string()),
            summary: config.summary.clone(),
        }
    }

    /// Whether the condition holds for `value` (`None` = no value: false).
    pub fn condition(&self, value: Option<f64>) -> bool {
        value.is_some_and(|v| self.op.holds(v, self.threshold))
    }

    /// Advances one group's state over the window `[start, end)`.
    ///
    /// The condition must have held since the start of the first true window for `for`
    /// (`end - since >= for`) before the alert fires; a `for` no longer than the window
    /// therefore fires at the first true window, without a pending step.
    pub fn step(&self, prev: Option<Active>, cond: bool, start: i64, end: i64) -> Step {
        let fire_or_pend = |since: i64| {
            if end.saturating_sub(since) >= self.hold {
                Active::Firing { since }
            } else {
                Active::Pending { since }
            }
        };
        match (prev, cond) {
            (None, false) => Step {
                next: None,
                emit: None,
            },
            (None, true) => {
                let next = fire_or_pend(start);
                let state = match next {
                    Active::Firing { .. } => AlertState::Firing,
                    Active::Pending { .. } => AlertState::Pending,
                };
                Step {
                    next: Some(next),
                    emit: Some((state, start)),
                }
            }
            (Some(Active::Pending { since }), true) => {
                let next = fire_or_pend(since);
                Step {
                    next: Some(next),
                    emit: matches!(next, Active::Firing { .. })
                        .then_some((AlertState::Firing, since)),
                }
            }
            (Some(Active::Pending { .. }), false) => Step {
                next: None,
                emit: None,
            },
            (Some(firing @ Active::Firing { .. }), true) => Step {
                next: Some(firing),
                emit: None,
            },
            (Some(Active::Firing { since }), false) => Step {
                next: None,
                emit: Some((AlertState::Resolved, since)),
            },
        }
    }

    /// Builds the event for a transition. `group` holds the group's `(column, value)`
    /// pairs in `group_by` order.
    #[allow(clippy::too_many_arguments)]
    pub fn event(
        &self,
        rule: &str,
        state: AlertState,
        group: &[(String, String)],
        value: Option<f64>,
        start: i64,
        end: i64,
        since: i64,
    ) -> AlertEvent {
        let mut labels: Vec<(String, String)> = group
            .iter()
            .map(|(k, v)| {
                let k = if k == "alertname" || k == "severity" {
                    format!("exported_{k}")
                } else {
                    k.clone()
                };
                (k, v.clone())
            })
            .collect();
        labels.push(("alertname".into(), rule.to_string()));
        labels.push(("severity".into(), self.severity.clone()));
        let lookup = |name: &str| -> String {
            match name {
                "rule" => rule.to_string(),
                "value" => format_value(value),
                "op" => self.op.as_str().to_string(),
                "threshold" => format_value(Some(self.threshold)),
                "severity" => self.severity.clone(),
                "state" => state.as_str().to_string(),
                other => group
                    .iter()
                    .find(|(k, _)| k == other)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
            }
        };
        let summary = match &self.summary {
            Some(template) => render(template, lookup),
            None => {
                let mut s = render(DEFAULT_SUMMARY, lookup);
                if !group.is_empty() {
                    let pairs: Vec<String> =
                        group.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    s.push_str(&format!(" [{}]", pairs.join(", ")));
                }
                s
            }
        };
        AlertEvent {
            rule: rule.to_string(),
            state,
            severity: self.severity.clone(),
            labels,
            value,
            threshold: self.threshold,
            window_start_us: start,
            window_end_us: end,
            active_since_us: Some(since),
            summary,
            ts_us: end,
        }
    }
}

/// Renders a (validated) template.
fn render(template: &str, lookup: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let parsed = parse_template(template, |piece| match piece {
        Piece::Text(t) => out.push_str(t),
        Piece::Placeholder(name) => out.push_str(&lookup(name)),
    });
    match parsed {
        Ok(()) => out,
        // Unreachable for validated rules; keep the raw template rather than panic.
        Err(_) => template.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(hold: i64) -> AlertRule {
        AlertRule {
            op: CmpOp::Gt,
            threshold: 2.0,
            hold,
            severity: "page".into(),
            summary: Some("{rule} on {host}: {value} {op} {threshold} {{x}}".into()),
        }
    }

    #[test]
    fn templates() {
        assert_eq!(
            template_placeholders("{rule} {host}{{lit}}").unwrap(),
            vec!["rule".to_string(), "host".to_string()]
        );
        assert!(template_placeholders("{rule").is_err());
        assert!(template_placeholders("rule}").is_err());
        assert!(template_placeholders("{a b}").is_err());
        let e = rule(0).event(
            "oom",
            AlertState::Firing,
            &[("host".into(), "web1".into())],
            Some(3.0),
            0,
            60,
            0,
        );
        assert_eq!(e.summary, "oom on web1: 3 > 2 {x}");
        let mut r = rule(0);
        r.summary = None;
        let e = r.event(
            "oom",
            AlertState::Resolved,
            &[("severity".into(), "high".into())],
            None,
            0,
            60,
            0,
        );
        assert_eq!(e.summary, "oom: value n/a > 2 [severity=high]");
        assert_eq!(
            e.labels,
            vec![
                ("exported_severity".to_string(), "high".to_string()),
                ("alertname".to_string(), "oom".to_string()),
                ("severity".to_string(), "page".to_string()),
            ]
        );
    }

    #[test]
    fn state_machine() {
        let r = rule(120);
        // First true window [0, 60): pending since 0.
        let s = r.step(None, true, 0, 60);
        assert_eq!(s.next, Some(Active::Pending { since: 0 }));
        assert_eq!(s.emit, Some((AlertState::Pending, 0)));
        // [60, 120): 120 - 0 >= 120 → firing.
        let s = r.step(s.next, true, 60, 120);
        assert_eq!(s.emit, Some((AlertState::Firing, 0)));
        // Stays firing silently.
        let s2 = r.step(s.next, true, 120, 180);
        assert_eq!(s2.emit, None);
        assert_eq!(s2.next, Some(Active::Firing { since: 0 }));
        // Resolves.
        let s3 = r.step(s2.next, false, 180, 240);
        assert_eq!((s3.next, s3.emit), (None, Some((AlertState::Resolved, 0))));
        // Pending that turns false drops silently.
        let p = r.step(None, true, 0, 60);
        let q = r.step(p.next, false, 60, 120);
        assert_eq!((q.next, q.emit), (None, None));
        // Hold no longer than the window: fires at once.
        let f = rule(60).step(None, true, 0, 60);
        assert_eq!(f.emit, Some((AlertState::Firing, 0)));
    }
}
