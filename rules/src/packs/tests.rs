use super::*;
use crate::RuleSet;

fn compile(pack: &Pack, overrides: &BTreeMap<String, toml::Value>) -> RuleSet {
    let rules = pack
        .rules(overrides, &format!("packs.{}", pack.name))
        .unwrap_or_else(|e| panic!("{}: {e:?}", pack.name));
    let keyed: Vec<(String, &RuleConfig)> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("packs.{}.rules[{i}]", pack.name), r))
        .collect();
    RuleSet::with_keys(&keyed).unwrap_or_else(|e| panic!("{}: {e:?}", pack.name))
}

#[test]
fn every_pack_compiles_against_its_schemas() {
    for pack in &PACKS {
        let (description, params) = pack.head().unwrap();
        assert!(!description.is_empty());
        let rs = compile(pack, &BTreeMap::new());
        assert!(!rs.is_empty(), "{}", pack.name);
        assert!(rs.kinds().contains(&pack.kind), "{}", pack.name);
        // Every parameter is used somewhere.
        for name in params.keys() {
            assert!(
                pack.text.contains(&format!("${{{name}}}")),
                "{}: parameter {name} unused",
                pack.name
            );
        }
    }
}

#[test]
fn overrides_are_applied_and_checked() {
    let windows = find("windows").unwrap();
    let mut o = BTreeMap::new();
    o.insert("failed_logons".to_string(), toml::Value::Integer(25));
    let rules = windows.rules(&o, "packs.windows").unwrap();
    let rule = rules
        .iter()
        .find(|r| r.name == "WindowsFailedLogonsByAccount")
        .unwrap();
    assert_eq!(rule.alert.as_ref().unwrap().threshold, 25.0);

    let gc = find("gc").unwrap();
    let mut o = BTreeMap::new();
    o.insert("long_pause_seconds".to_string(), toml::Value::Integer(2));
    o.insert("overhead_for".to_string(), toml::Value::String("5m".into()));
    let rules = gc.rules(&o, "packs.gc").unwrap();
    let long = rules.iter().find(|r| r.name == "GcLongPause").unwrap();
    assert_eq!(long.alert.as_ref().unwrap().threshold, 2.0);
    let overhead = rules.iter().find(|r| r.name == "GcOverhead").unwrap();
    assert_eq!(overhead.alert.as_ref().unwrap().hold.as_deref(), Some("5m"));

    let mut o = BTreeMap::new();
    o.insert("failed_logon".to_string(), toml::Value::Integer(1));
    o.insert("window".to_string(), toml::Value::Integer(1));
    let errs = windows.rules(&o, "packs.windows").unwrap_err();
    let text: Vec<String> = errs
        .iter()
        .map(|e| format!("{}: {}", e.key, e.reason))
        .collect();
    assert!(
        text[0].starts_with("packs.windows.failed_logon: the windows pack has no parameter"),
        "{text:?}"
    );
    assert!(
        text[1].starts_with("packs.windows.window: must be a string"),
        "{text:?}"
    );
}

#[test]
fn substitution_escapes_strings() {
    let mut v = BTreeMap::new();
    v.insert("a".to_string(), toml::Value::String(r#"x"y\z"#.into()));
    v.insert("n".to_string(), toml::Value::Float(1.0));
    assert_eq!(
        substitute(r#"s = "${a}" n = ${n}"#, &v).unwrap(),
        r#"s = "x\"y\\z" n = 1.0"#
    );
    assert!(substitute("${missing}", &v).is_err());
    assert!(substitute("${a", &v).is_err());
}
