//! The configuration file: one TOML document, validated before anything starts.
//!
//! [`Config::load`] parses and validates; every problem is reported as a
//! [`ConfigError`] naming the key (`sources[1].format`) and the reason, all at once.
//! docs/configuration.md documents every key; keep it in step with the structs here.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
pub use serversage_rules::ConfigError;
use serversage_rules::{RuleConfig, parse_duration};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Directory of the event store (Parquet) and of the pipeline's state (checkpoints).
    /// Relative paths are relative to the configuration file.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Default `host` column for events whose record names no host; "auto" = this machine.
    #[serde(default = "default_host")]
    pub host: String,
    /// The HTTP listener serving /metrics and /healthz.
    #[serde(default)]
    pub http: HttpConfig,
    /// The Parquet store.
    #[serde(default)]
    pub store: StoreSection,
    /// Where alert transitions are delivered besides the `alerts` table.
    #[serde(default)]
    pub alerts: AlertsSection,
    /// Inputs.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Windowed rules deriving metrics and alerts.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// Built-in rule packs by name (`[packs.gc] long_pause_seconds = 0.5`): each is on
    /// when a source produces its kind, unless `enabled = false`.
    #[serde(default)]
    pub packs: BTreeMap<String, PackSettings>,
    /// Kernel classes of your own, tried before the built-in catalogue's (a class of the
    /// same name replaces nothing: the first row that matches a message wins).
    #[serde(default)]
    pub kernel_classes: Vec<KernelClassConfig>,
}

/// `[[kernel_classes]]`: one row of the kernel catalogue.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KernelClassConfig {
    /// Class name, stored in `kernel_events.class` and used as a metric label.
    pub name: String,
    /// `critical`, `high`, `medium` or `low`.
    pub severity: String,
    /// Regex (Rust syntax) over the message; named captures become `facts`.
    pub pattern: String,
    /// Literal substrings of which one must occur before the regex is tried (a cheap
    /// prefilter; empty: always try it).
    #[serde(default)]
    pub needles: Vec<String>,
}

impl KernelClassConfig {
    fn spec(&self) -> serversage_parsers::kernel::ClassSpec {
        serversage_parsers::kernel::ClassSpec {
            name: self.name.clone(),
            severity: self.severity.clone(),
            needles: self.needles.clone(),
            pattern: self.pattern.clone(),
        }
    }
}

/// `[packs.<name>]`: whether a built-in pack runs, and its parameters.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct PackSettings {
    /// `true`: always; `false`: never; absent: when a source produces the pack's kind.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Parameter overrides, by the pack's parameter names.
    #[serde(flatten)]
    pub params: BTreeMap<String, toml::Value>,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}
fn default_host() -> String {
    "auto".into()
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address of the /metrics and /healthz listener; loopback by default.
    #[serde(default = "default_listen")]
    pub listen: String,
}

/// Default listener: loopback, port 9898.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9898";

fn default_listen() -> String {
    DEFAULT_LISTEN.into()
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: default_listen(),
        }
    }
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// Longest time rows wait in memory before they are written (at most 60 s).
    #[serde(default = "default_flush")]
    pub flush_interval: String,
    /// Rows per table buffered before a write regardless of time.
    #[serde(default = "default_rows")]
    pub max_buffered_rows: usize,
    /// ZSTD level of the Parquet files (1 = fast; 3+ = smaller).
    #[serde(default = "default_zstd")]
    pub zstd_level: i32,
}

fn default_flush() -> String {
    "10s".into()
}
fn default_rows() -> usize {
    serversage_sinks::store::DEFAULT_MAX_BUFFERED_ROWS
}
fn default_zstd() -> i32 {
    1
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            flush_interval: default_flush(),
            max_buffered_rows: default_rows(),
            zstd_level: default_zstd(),
        }
    }
}

/// `[alerts]`.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AlertsSection {
    /// JSON-lines file receiving every alert transition; default `<data_dir>/alerts.log`.
    pub log: Option<PathBuf>,
}

/// Where a source starts reading a file it has no checkpoint for.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ReadFrom {
    /// From the first byte (history included).
    #[default]
    Beginning,
    /// From the current end (only what is appended from now on).
    End,
}

/// `[[sources]]`: a set of files of one format.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name, written into the `source` column and used as a metric label.
    pub name: String,
    /// Format name (`serversage formats` lists them).
    pub format: String,
    /// Glob patterns of files to follow; new matching files are picked up while running.
    /// Relative patterns are relative to the configuration file. Exactly one of `paths`
    /// and `listen`.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Address (`127.0.0.1:5140`) on which records arrive over TCP (one connection = one
    /// stream of records) or HTTP (`POST`, body = records), instead of files.
    #[serde(default)]
    pub listen: Option<String>,
    /// Start of files without a checkpoint.
    #[serde(default)]
    pub read_from: ReadFrom,
    /// Host column for this source's events (overrides the top-level `host`).
    pub host: Option<String>,
    /// For formats with seconds-since-boot timestamps: the boot time of the machine that
    /// wrote them, as RFC 3339, or "host" for this machine's current boot.
    pub boot_time: Option<String>,
    /// Longest record accepted; longer input is split and kept as dead letters.
    #[serde(default = "default_max_record")]
    pub max_record_bytes: usize,
    /// How long a record without its terminator waits for more bytes before it is
    /// taken as complete.
    #[serde(default = "default_partial")]
    pub partial_record_timeout: String,
    /// Format-specific settings (PostgreSQL: `log_line_prefix`), checked by the format.
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, String>,
}

fn default_max_record() -> usize {
    1024 * 1024
}
fn default_partial() -> String {
    "2s".into()
}

impl Config {
    /// Reads, parses and validates `path`; relative paths inside become relative to it.
    pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ConfigError {
                key: path.display().to_string(),
                reason: format!("cannot read: {e}"),
            }]
        })?;
        let mut cfg: Config = toml::from_str(&text).map_err(|e| {
            let key = e
                .span()
                .map(|s| line_col(&text, s.start))
                .unwrap_or_default();
            vec![ConfigError {
                key: format!("{}{}", path.display(), key),
                reason: e.message().to_string(),
            }]
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        cfg.resolve_paths(base);
        let errors = cfg.validate();
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(errors)
        }
    }

    /// Makes relative paths relative to `base` (the configuration file's directory).
    pub fn resolve_paths(&mut self, base: &Path) {
        if self.data_dir.is_relative() {
            self.data_dir = base.join(&self.data_dir);
        }
        if let Some(log) = &self.alerts.log
            && log.is_relative()
        {
            self.alerts.log = Some(base.join(log));
        }
        for s in &mut self.sources {
            for p in &mut s.paths {
                if Path::new(p.as_str()).is_relative() {
                    *p = base.join(&*p).to_string_lossy().into_owned();
                }
            }
        }
    }

    /// Every problem in the configuration, each naming its key.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        let mut err = |key: String, reason: String| errs.push(ConfigError { key, reason });
        if self.http.listen.parse::<SocketAddr>().is_err() {
            err(
                "http.listen".into(),
                format!(
                    "`{}` is not an address like 127.0.0.1:9898",
                    self.http.listen
                ),
            );
        }
        match parse_duration(&self.store.flush_interval) {
            Ok(us) if us <= 0 || us > 60_000_000 => err(
                "store.flush_interval".into(),
                "must be more than 0 s and at most 60 s".into(),
            ),
            Ok(_) => {}
            Err(e) => err("store.flush_interval".into(), e),
        }
        if self.store.max_buffered_rows == 0 {
            err(
                "store.max_buffered_rows".into(),
                "must be at least 1".into(),
            );
        }
        if !(1..=22).contains(&self.store.zstd_level) {
            err("store.zstd_level".into(), "must be between 1 and 22".into());
        }
        if self.host.trim().is_empty() {
            err(
                "host".into(),
                "must not be empty (use \"auto\" for this machine's name)".into(),
            );
        }
        let mut names = std::collections::HashSet::new();
        for (i, s) in self.sources.iter().enumerate() {
            let k = |f: &str| format!("sources[{i}].{f}");
            if s.name.is_empty()
                || !s
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
            {
                err(
                    k("name"),
                    "must be non-empty letters, digits, `_`, `-` or `.`".into(),
                );
            } else if !names.insert(s.name.as_str()) {
                err(k("name"), format!("`{}` is used by another source", s.name));
            }
            if serversage_parsers::decoder::kind_of(&s.format).is_none() {
                let known: Vec<&str> = serversage_parsers::decoder::FORMATS
                    .iter()
                    .map(|f| f.0)
                    .collect();
                err(
                    k("format"),
                    format!("unknown format `{}`; known: {}", s.format, known.join(", ")),
                );
            }
            match (&s.listen, s.paths.is_empty()) {
                (None, true) => err(
                    k("paths"),
                    "needs at least one path or glob (or `listen` instead)".into(),
                ),
                (Some(_), false) => err(
                    k("listen"),
                    "a source has either `paths` or `listen`, not both".into(),
                ),
                (Some(l), true) => {
                    if l.parse::<SocketAddr>().is_err() {
                        err(
                            k("listen"),
                            format!("`{l}` is not an address like 127.0.0.1:5140"),
                        );
                    }
                    if s.format == "evtx" {
                        err(
                            k("listen"),
                            "`evtx` files are read from `paths`; forward windows-xml, \
                             winlogbeat-json or nxlog-json to a listener"
                                .into(),
                        );
                    }
                }
                (None, false) => {}
            }
            for (j, p) in s.paths.iter().enumerate() {
                if let Err(e) = glob::Pattern::new(p) {
                    err(
                        format!("sources[{i}].paths[{j}]"),
                        format!("invalid glob: {e}"),
                    );
                }
            }
            if let Some(b) = &s.boot_time
                && b != "host"
                && chrono::DateTime::parse_from_rfc3339(b).is_err()
            {
                err(
                    k("boot_time"),
                    format!("`{b}` is neither \"host\" nor an RFC 3339 time"),
                );
            }
            if s.max_record_bytes < 1024 {
                err(k("max_record_bytes"), "must be at least 1024".into());
            }
            if let Err(e) = parse_duration(&s.partial_record_timeout) {
                err(k("partial_record_timeout"), e);
            }
            for (key, reason) in serversage_parsers::decoder::check_options(&s.format, &s.options) {
                err(k(&format!("options.{key}")), reason);
            }
        }
        for (i, c) in self.kernel_classes.iter().enumerate() {
            if let Err(e) = serversage_parsers::kernel::Catalogue::with(&[c.spec()]) {
                errs.push(ConfigError {
                    key: format!("kernel_classes[{i}]"),
                    reason: e,
                });
            }
        }
        match self.all_rules() {
            Err(e) => errs.extend(e),
            Ok(rules) => {
                let keyed: Vec<(String, &RuleConfig)> =
                    rules.iter().map(|(k, r)| (k.clone(), r)).collect();
                if let Err(e) = serversage_rules::RuleSet::with_keys(&keyed) {
                    errs.extend(e);
                }
            }
        }
        errs
    }

    /// The kernel catalogue with `kernel_classes` first; `None` when there are none (the
    /// built-in one is used). Call after validation.
    pub fn kernel_catalogue(
        &self,
    ) -> Option<std::sync::Arc<serversage_parsers::kernel::Catalogue>> {
        if self.kernel_classes.is_empty() {
            return None;
        }
        let specs: Vec<_> = self.kernel_classes.iter().map(|c| c.spec()).collect();
        serversage_parsers::kernel::Catalogue::with(&specs)
            .ok()
            .map(std::sync::Arc::new)
    }

    /// Names of the built-in packs that run with this configuration.
    pub fn enabled_packs(&self) -> Vec<&'static str> {
        let kinds: Vec<_> = self
            .sources
            .iter()
            .filter_map(|s| serversage_parsers::decoder::kind_of(&s.format))
            .collect();
        serversage_rules::packs::PACKS
            .iter()
            .filter(|p| match self.packs.get(p.name).and_then(|s| s.enabled) {
                Some(on) => on,
                None => kinds.contains(&p.kind),
            })
            .map(|p| p.name)
            .collect()
    }

    /// Every rule that runs, keyed by where it is configured: the enabled packs' rules
    /// first (`packs.gc.rules[3]`), then the file's (`rules[0]`). Errors name unknown
    /// packs and bad pack parameters.
    pub fn all_rules(&self) -> Result<Vec<(String, RuleConfig)>, Vec<ConfigError>> {
        let mut errs = Vec::new();
        for name in self.packs.keys() {
            if serversage_rules::packs::find(name).is_none() {
                let known: Vec<&str> = serversage_rules::packs::PACKS
                    .iter()
                    .map(|p| p.name)
                    .collect();
                errs.push(ConfigError {
                    key: format!("packs.{name}"),
                    reason: format!("no built-in pack `{name}` (packs: {})", known.join(", ")),
                });
            }
        }
        let mut rules = Vec::new();
        for name in self.enabled_packs() {
            let pack = serversage_rules::packs::find(name).expect("listed pack");
            let params = self
                .packs
                .get(name)
                .map(|s| s.params.clone())
                .unwrap_or_default();
            match pack.rules(&params, &format!("packs.{name}")) {
                Ok(r) => rules.extend(
                    r.into_iter()
                        .enumerate()
                        .map(|(i, r)| (format!("packs.{name}.rules[{i}]"), r)),
                ),
                Err(e) => errs.extend(e),
            }
        }
        rules.extend(
            self.rules
                .iter()
                .enumerate()
                .map(|(i, r)| (format!("rules[{i}]"), r.clone())),
        );
        if errs.is_empty() {
            Ok(rules)
        } else {
            Err(errs)
        }
    }

    /// The host name for events of `source` (its own, the top-level one, or this machine's).
    pub fn host_for(&self, source: &SourceConfig) -> String {
        let h = source.host.as_deref().unwrap_or(&self.host);
        if h == "auto" {
            crate::host::hostname()
        } else {
            h.to_string()
        }
    }

    /// The store's flush interval.
    pub fn flush_interval(&self) -> Duration {
        Duration::from_micros(
            parse_duration(&self.store.flush_interval)
                .unwrap_or(10_000_000)
                .max(1) as u64,
        )
    }

    /// The alerts log file.
    pub fn alerts_log(&self) -> PathBuf {
        self.alerts
            .log
            .clone()
            .unwrap_or_else(|| self.data_dir.join("alerts.log"))
    }
}

fn line_col(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    format!(":{line}:{col}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(toml_text: &str) -> Vec<String> {
        let cfg: Config = toml::from_str(toml_text).unwrap();
        cfg.validate()
            .into_iter()
            .map(|e| format!("{}: {}", e.key, e.reason))
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        assert!(errors("").is_empty());
    }

    #[test]
    fn errors_name_their_keys() {
        let e = errors(
            r#"
            [http]
            listen = "nowhere"
            [store]
            flush_interval = "5m"
            [[sources]]
            name = "a"
            format = "nope"
            paths = []
            [[sources]]
            name = "a"
            format = "kernel"
            paths = ["x["]
            boot_time = "yesterday"
            "#,
        );
        let joined = e.join("\n");
        for key in [
            "http.listen",
            "store.flush_interval",
            "sources[0].format",
            "sources[0].paths",
            "sources[1].name",
            "sources[1].paths[0]",
            "sources[1].boot_time",
        ] {
            assert!(
                joined.contains(&format!("{key}: ")),
                "missing {key} in:\n{joined}"
            );
        }
    }

    #[test]
    fn a_source_has_paths_or_listen() {
        let e = errors(
            r#"
            [[sources]]
            name = "a"
            format = "winlogbeat-json"
            listen = "localhost:5140"
            [[sources]]
            name = "b"
            format = "nxlog-json"
            listen = "127.0.0.1:5140"
            paths = ["x.json"]
            [[sources]]
            name = "c"
            format = "evtx"
            listen = "127.0.0.1:5141"
            [[sources]]
            name = "d"
            format = "windows-xml"
            [[sources]]
            name = "e"
            format = "windows-xml"
            listen = "[::1]:5142"
            "#,
        );
        let joined = e.join("\n");
        for key in [
            "sources[0].listen: `localhost:5140` is not an address",
            "sources[1].listen: a source has either",
            "sources[2].listen: `evtx` files are read from `paths`",
            "sources[3].paths: needs at least one path",
        ] {
            assert!(joined.contains(key), "missing {key} in:\n{joined}");
        }
        assert!(!joined.contains("sources[4]"), "{joined}");
    }

    #[test]
    fn unknown_keys_are_rejected_with_position() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "data_dir = \"d\"\n[http]\nlisten = \"127.0.0.1:1\"\nport = 3\n",
        )
        .unwrap();
        let e = Config::load(&p).unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(e[0].key.ends_with(":4:1"), "{}", e[0].key);
        assert!(e[0].reason.contains("port"), "{}", e[0].reason);
    }
}
