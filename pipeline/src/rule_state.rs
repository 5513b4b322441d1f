//! The rules' state that must survive a restart: the groups each `new_groups_only` rule
//! has seen (a fingerprint known yesterday is not new today). Kept as JSON in
//! `<data_dir>/state/rules.json`, written atomically at most once a minute while it
//! changes, and at shutdown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serversage_rules::RuleSet;

/// Known groups by rule name, as [`RuleSet::known_groups`] gives them.
pub type KnownGroups = BTreeMap<String, Vec<Vec<String>>>;

const SAVE_EVERY: Duration = Duration::from_secs(60);

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("state").join("rules.json")
}

/// The saved groups; nothing when there is no file. An unreadable file is reported and
/// ignored: the cost is one more "new" alert per group, not a pipeline that cannot start.
pub fn load(data_dir: &Path) -> KnownGroups {
    let p = path(data_dir);
    match std::fs::read(&p) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(
                "{}: ignored ({e}); new-group alerts start afresh",
                p.display()
            );
            KnownGroups::new()
        }),
        Err(_) => KnownGroups::new(),
    }
}

/// Saves the known groups when they changed, at most every [`SAVE_EVERY`] (and always
/// on the last call).
pub struct Saver {
    path: PathBuf,
    last: KnownGroups,
    saved_at: Instant,
}

impl Saver {
    /// A saver starting from what `rules` knows now (the restored state).
    pub fn new(data_dir: &Path, rules: &RuleSet) -> Saver {
        Saver {
            path: path(data_dir),
            last: rules.known_groups(),
            saved_at: Instant::now(),
        }
    }

    /// Writes the state if it changed and a minute has passed, or if `last_call`.
    pub fn maybe_save(&mut self, rules: &RuleSet, last_call: bool) {
        if !last_call && self.saved_at.elapsed() < SAVE_EVERY {
            return;
        }
        let now = rules.known_groups();
        if now == self.last {
            return;
        }
        if let Err(e) = write_atomic(&self.path, &now) {
            tracing::error!("saving {}: {e}", self.path.display());
            return;
        }
        self.last = now;
        self.saved_at = Instant::now();
    }
}

fn write_atomic(path: &Path, groups: &KnownGroups) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(groups)?)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).is_empty());
        let mut g = KnownGroups::new();
        g.insert(
            "DbNewSlowFingerprint".into(),
            vec![vec!["a".into(), "b".into()]],
        );
        write_atomic(&path(dir.path()), &g).unwrap();
        assert_eq!(load(dir.path()), g);
        std::fs::write(path(dir.path()), b"{not json").unwrap();
        assert!(load(dir.path()).is_empty());
    }
}
