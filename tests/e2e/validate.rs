use crate::harness::*;

#[test]
fn the_shipped_config_is_valid() {
    let out = ok(&[
        "validate",
        "--config",
        repo().join("serversage.toml").to_str().unwrap(),
    ]);
    assert!(
        text(&out.stdout)
            .contains("ok (2 sources; 23 rules: 20 from the packs [kernel, gc], 3 of the file)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn every_error_names_its_key_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        r#"
data_dir = "d"
[http]
listen = "localhost"
[[sources]]
name = "k"
format = "kernal"
paths = ["/var/log/kern.log"]
[[rules]]
name = "r"
kind = "kernel"
filter = "no_such_column = 1"
group_by = ["hots"]
window = { size = "1 minute" }
aggregate = { fn = "sum" }
"#,
    )
    .unwrap();
    let out = bin()
        .args(["validate", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let t = text(&out.stdout);
    for key in [
        "http.listen",
        "sources[0].format",
        "rules[0].filter",
        "rules[0].group_by",
        "rules[0].window.size",
        "rules[0].aggregate.column",
    ] {
        assert!(
            t.lines().any(|l| l.starts_with(key)),
            "no error for {key} in:\n{t}"
        );
    }
    assert!(
        !dir.path().join("d").exists(),
        "validate must not create the data directory"
    );
}
