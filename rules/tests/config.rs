//! Configuration parsing and validation: every error names its key.

mod common;

use common::*;
use serversage_rules::{ConfigError, RuleConfig, RuleSet};

fn errors(toml_text: &str) -> Vec<ConfigError> {
    rule(toml_text).validate("rules[0]")
}

fn keys(errs: &[ConfigError]) -> Vec<&str> {
    errs.iter().map(|e| e.key.as_str()).collect()
}

fn has(errs: &[ConfigError], key: &str, needle: &str) -> bool {
    errs.iter()
        .any(|e| e.key == key && e.reason.contains(needle))
}

const VALID: &str = r#"
    name = "oom"
    kind = "kernel"
    filter = "class = 'oom_kill'"
    group_by = ["host"]
    window = { type = "sliding", size = "5m", every = "1m", lateness = "10s", idle_flush = "30s" }
    aggregate = { fn = "count" }
    metric = { name = "serversage:oom_kills", type = "gauge", help = "OOM kills" }
    alert = { op = ">=", threshold = 1, for = "1m30s", severity = "critical", summary = "{rule} on {host}: {value}" }
"#;

#[test]
fn valid_rule_round_trips() {
    let r = rule(VALID);
    assert!(
        r.validate("rules[0]").is_empty(),
        "{:?}",
        r.validate("rules[0]")
    );
    // Table names work as kinds too.
    let mut t = r.clone();
    t.kind = "kernel_events".into();
    assert!(t.validate("x").is_empty());
    let json = serde_json::to_string(&r).unwrap();
    let back: RuleConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    assert!(json.contains(r#""type":"sliding""#) && json.contains(r#""op":">=""#));
    assert!(json.contains(r#""fn":"count""#) && json.contains(r#""for":"1m30s""#));
}

#[test]
fn unknown_fields_and_values_are_rejected_by_serde() {
    for bad in [
        VALID.replace("group_by", "groupby"),
        VALID.replace(r#"fn = "count""#, r#"fn = "median""#),
        VALID.replace(r#"op = ">=""#, r#"op = "=>""#),
        VALID.replace(r#"type = "gauge""#, r#"type = "summary""#),
        VALID.replace(r#"type = "sliding""#, r#"type = "session""#),
        VALID.replace("idle_flush", "idle"),
    ] {
        assert!(toml::from_str::<RuleConfig>(&bad).is_err(), "{bad}");
    }
}

#[test]
fn filter_errors_name_the_filter_key() {
    let non_bool = errors(&VALID.replace("class = 'oom_kill'", "message"));
    assert_eq!(keys(&non_bool), vec!["rules[0].filter"]);
    assert!(has(&non_bool, "rules[0].filter", "boolean"), "{non_bool:?}");

    let unknown = errors(&VALID.replace("class = 'oom_kill'", "klass = 'oom_kill'"));
    assert_eq!(keys(&unknown), vec!["rules[0].filter"]);
    assert!(has(&unknown, "rules[0].filter", "klass"), "{unknown:?}");

    let syntax = errors(&VALID.replace("class = 'oom_kill'", "class = = 'x'"));
    assert_eq!(keys(&syntax), vec!["rules[0].filter"]);

    let volatile = errors(&VALID.replace("class = 'oom_kill'", "ts > now()"));
    assert!(
        has(&volatile, "rules[0].filter", "volatile"),
        "{volatile:?}"
    );
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let errs = errors(
        r#"
        name = "bad name"
        kind = "kernel"
        group_by = ["host", "nosuch", "host"]
        window = { type = "sliding", size = "1m", every = "7s", lateness = "soon", idle_flush = "0s" }
        aggregate = { fn = "avg", column = "message" }
        metric = { name = "bad-metric", type = "counter" }
        alert = { op = ">", threshold = nan, for = "abc", severity = " ", summary = "{nosuch} {value" }
    "#,
    );
    let want = [
        ("rules[0].name", "must match"),
        ("rules[0].group_by[1]", "nosuch"),
        ("rules[0].group_by[2]", "twice"),
        ("rules[0].aggregate.column", "numeric"),
        ("rules[0].window.every", "divide"),
        ("rules[0].window.lateness", "soon"),
        ("rules[0].window.idle_flush", "greater than 0"),
        ("rules[0].metric.name", "bad-metric"),
        ("rules[0].metric.type", "counter"),
        ("rules[0].alert.threshold", "finite"),
        ("rules[0].alert.for", "abc"),
        ("rules[0].alert.severity", "empty"),
        ("rules[0].alert.summary", "unclosed"),
    ];
    for (key, needle) in want {
        assert!(
            has(&errs, key, needle),
            "missing {key} ({needle}) in {errs:#?}"
        );
    }
    assert_eq!(errs.len(), want.len(), "{errs:#?}");
}

#[test]
fn more_validation_cases() {
    let base = r#"
        name = "r"
        kind = "kernel"
        window = { size = "1m" }
        aggregate = { fn = "sum" }
        metric = { name = "m", type = "gauge" }
    "#;
    let e = errors(base);
    assert_eq!(keys(&e), vec!["rules[0].aggregate.column"]);

    let e = errors(&base.replace(r#"fn = "sum""#, r#"fn = "sum", column = "uptime""#));
    assert!(has(&e, "rules[0].aggregate.column", "uptime"), "{e:?}");

    let e = errors(&base.replace(r#"kind = "kernel""#, r#"kind = "nginx""#));
    assert!(has(&e, "rules[0].kind", "nginx"), "{e:?}");

    let e = errors(&base.replace(r#"size = "1m""#, r#"size = "1m", every = "30s""#));
    assert!(has(&e, "rules[0].window.every", "sliding"), "{e:?}");

    let e = errors(&base.replace(r#"size = "1m""#, r#"type = "sliding", size = "1m""#));
    assert!(has(&e, "rules[0].window.every", "need"), "{e:?}");

    let e = errors(&base.replace(r#"size = "1m""#, r#"size = "0s""#));
    assert!(has(&e, "rules[0].window.size", "greater than 0"), "{e:?}");

    let e = errors(&base.replace(
        r#"size = "1m""#,
        r#"type = "sliding", size = "1h", every = "1s""#,
    ));
    assert!(has(&e, "rules[0].window.every", "at most"), "{e:?}");

    let e = errors(&base.replace(r#"metric = { name = "m", type = "gauge" }"#, ""));
    assert!(has(&e, "rules[0]", "no output"), "{e:?}");

    // count with a non-numeric column is fine (non-null rows are counted).
    let e = errors(&base.replace(r#"fn = "sum""#, r#"fn = "count", column = "device""#));
    assert!(e.is_empty(), "{e:?}");
}

#[test]
fn ruleset_checks_across_rules() {
    let a = rule(VALID);
    let mut b = a.clone();
    b.window.size = "zzz".into();
    let errs = RuleSet::new(&[a.clone(), b, a.clone()]).unwrap_err();
    assert_eq!(
        keys(&errs),
        vec![
            "rules[1].name",
            "rules[1].metric.name",
            "rules[1].window.size",
            "rules[2].name",
            "rules[2].metric.name",
        ],
        "{errs:#?}"
    );
    assert_eq!(
        errs[0].to_string(),
        "rules[1].name: duplicate rule name \"oom\""
    );
    let rs = RuleSet::new(&[a]).unwrap();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs.kinds(), vec![serversage_parsers::EventKind::Kernel]);
}

#[test]
fn ruleset_is_send() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<RuleSet>();
}
