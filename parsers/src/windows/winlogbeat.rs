//! Winlogbeat / Elastic Agent JSON (`winlogbeat-json`): ECS documents with `winlog.*`.
//!
//! ```text
//! { "@timestamp": "2019-12-18T16:22:12.3425087Z",          ; TimeCreated (Winlogbeat)
//!   "winlog": { "event_id": "4742" | 4742, "channel", "provider_name", "provider_guid",
//!               "record_id", "computer_name", "process": {"pid", "thread": {"id"}},
//!               "user": {"identifier"}, "keywords": ["Audit Success"], "version",
//!               "opcode", "task" (names), "activity_id", "related_activity_id",
//!               "time_created" (Filebeat/Agent: wins over @timestamp), "level" (name),
//!               "event_data": {…} | "user_data": {"xml_name": "LogFileCleared", …} },
//!   "event": {"code", "outcome"}, "log": {"level"}, "message" }
//! ```
//!
//! One object per line, pretty-printed objects, a JSON array of them, or the Elastic
//! pipeline-test wrapper `{"events": [ … ]}` (one record, a row per element). What the form
//! does not carry stays null: the keyword mask (only names are sent: `outcome` comes from
//! "Audit Success"/"Audit Failure", or `event.outcome` without keywords), numeric task and
//! opcode (names are sent), and `level` is derived from the level name (see
//! [`level_of_name`]). Module-processed `event_data` arrays (`PrivilegeList`) are joined
//! with `\n`.

use serde::Deserialize;

use super::fields::{Clock, Data, Event, Outcome, keyword_bit, level_of_name, parse_system_time};
use super::json::{Flat, Names, Scalar, Text};
use crate::error::{ErrorKind, ParseError};

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(rename = "@timestamp", borrow)]
    timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    winlog: Option<Winlog<'a>>,
    #[serde(borrow)]
    event: Option<Ecs<'a>>,
    #[serde(borrow)]
    log: Option<Log<'a>>,
    #[serde(borrow)]
    message: Option<Scalar<'a>>,
    #[serde(borrow)]
    events: Option<Vec<Doc<'a>>>,
}

#[derive(Deserialize)]
struct Winlog<'a> {
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    provider_name: Option<Text<'a>>,
    #[serde(borrow)]
    provider_guid: Option<Text<'a>>,
    #[serde(borrow)]
    computer_name: Option<Text<'a>>,
    #[serde(borrow)]
    event_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    record_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    version: Option<Scalar<'a>>,
    #[serde(borrow)]
    opcode: Option<Scalar<'a>>,
    #[serde(borrow)]
    task: Option<Scalar<'a>>,
    #[serde(borrow)]
    level: Option<Text<'a>>,
    #[serde(borrow)]
    keywords: Option<Names<'a>>,
    #[serde(borrow)]
    activity_id: Option<Text<'a>>,
    #[serde(borrow)]
    related_activity_id: Option<Text<'a>>,
    #[serde(borrow)]
    time_created: Option<Text<'a>>,
    #[serde(borrow)]
    process: Option<Process<'a>>,
    #[serde(borrow)]
    user: Option<User<'a>>,
    #[serde(borrow)]
    event_data: Option<Flat<'a>>,
    #[serde(borrow)]
    user_data: Option<Flat<'a>>,
}

#[derive(Deserialize)]
struct Process<'a> {
    #[serde(borrow)]
    pid: Option<Scalar<'a>>,
    #[serde(borrow)]
    thread: Option<Thread<'a>>,
}

#[derive(Deserialize)]
struct Thread<'a> {
    #[serde(borrow)]
    id: Option<Scalar<'a>>,
}

#[derive(Deserialize)]
struct User<'a> {
    #[serde(borrow)]
    identifier: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Ecs<'a> {
    #[serde(borrow)]
    code: Option<Scalar<'a>>,
    #[serde(borrow)]
    outcome: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Log<'a> {
    #[serde(borrow)]
    level: Option<Text<'a>>,
}

fn event_of(doc: Doc<'_>) -> Event<'_> {
    let mut ev = Event::default();
    let wl = doc.winlog;
    let ecs = doc.event;
    let time = wl
        .as_ref()
        .and_then(|w| w.time_created.as_ref())
        .or(doc.timestamp.as_ref())
        .and_then(|t| parse_system_time(&t.0));
    ev.time_created = time.map(|t| (t, Clock::TimeCreated));
    ev.message = doc.message.and_then(Scalar::into_text);
    let mut level_name = doc.log.and_then(|l| l.level).map(|t| t.0);
    let mut ecs_outcome = None;
    if let Some(e) = ecs {
        ev.event_id = e.code.and_then(|c| c.as_u32());
        ecs_outcome = e.outcome.map(|t| t.0);
    }
    if let Some(w) = wl {
        ev.event_id = w.event_id.and_then(|c| c.as_u32()).or(ev.event_id);
        ev.channel = w.channel.map(|t| t.0);
        ev.provider = w.provider_name.map(|t| t.0);
        ev.provider_guid = w.provider_guid.map(|t| t.0);
        ev.computer = w.computer_name.map(|t| t.0);
        ev.record_id = w.record_id.and_then(|r| r.as_u64());
        ev.version = w.version.and_then(|v| v.as_u32());
        // Names in Winlogbeat; a number only if an agent sends one.
        ev.opcode = w.opcode.and_then(|v| v.as_u32());
        ev.task = w.task.and_then(|v| v.as_u32());
        ev.activity_id = w.activity_id.map(|t| t.0);
        ev.related_activity_id = w.related_activity_id.map(|t| t.0);
        if let Some(p) = w.process {
            ev.process_id = p.pid.and_then(|v| v.as_u32());
            ev.thread_id = p.thread.and_then(|t| t.id).and_then(|v| v.as_u32());
        }
        ev.user_sid = w.user.and_then(|u| u.identifier).map(|t| t.0);
        if let Some(k) = w.keywords {
            let mask =
                k.0.iter()
                    .filter_map(|n| keyword_bit(n))
                    .fold(0, |a, b| a | b);
            ev.outcome = Outcome::of_keywords(mask);
        } else {
            ev.outcome = match ecs_outcome.as_deref() {
                Some("success") => Some(Outcome::Success),
                Some("failure") => Some(Outcome::Failure),
                _ => None,
            };
        }
        level_name = level_name.or(w.level.map(|t| t.0));
        if let Some(Flat(entries)) = w.event_data {
            ev.data = Data(entries);
        } else if let Some(Flat(entries)) = w.user_data {
            let mut data = Data::default();
            for (k, v) in entries {
                if k == "xml_name" {
                    ev.user_data_name = Some(v);
                } else {
                    data.push(k, v);
                }
            }
            ev.data = data;
        }
    }
    ev.level = level_name.and_then(|n| level_of_name(&n, ev.outcome.is_some()));
    ev
}

/// Parses one framed record into its events (a wrapper `{"events": […]}` holds several).
pub(crate) fn parse(text: &str) -> Result<Vec<Event<'_>>, ParseError> {
    let doc: Doc<'_> = serde_json::from_str(text.trim_end()).map_err(|e| {
        let at = crate::windows::json_error_offset(text, &e);
        ParseError::new(ErrorKind::Malformed, at, format!("Winlogbeat JSON: {e}"))
    })?;
    if doc.winlog.is_none() && doc.events.is_some() {
        return Ok(doc
            .events
            .unwrap_or_default()
            .into_iter()
            .map(event_of)
            .collect());
    }
    Ok(vec![event_of(doc)])
}
