//! Checkpoints: how far each file is durably stored.
//!
//! One JSON file, `<data_dir>/state/checkpoints.json`, with a format version so it can
//! change without losing positions. It is rewritten atomically (temp file + rename) each
//! time the store commits; the offset of a file only advances past bytes whose rows are
//! in Parquet, so a restart never skips data (at worst it re-reads what was written after
//! the last commit).
//!
//! Sources that are not files keep their position in the same list as *keyed* entries:
//! `head_len` 0 (so no file's fingerprint ever matches them) and an `id` that names the
//! source and what the offset counts in. The /dev/kmsg reader uses
//! `kmsg:<source>@<boot id>` with `offset` = the next kernel sequence number to store.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fingerprint::fnv1a64;

/// Version of the checkpoint file format written by this build.
pub const CHECKPOINT_VERSION: u32 = 1;

/// One file's position.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// Stable id of the file (the hex fingerprint it had when first seen).
    pub id: String,
    /// How many head bytes `head_hash` covers.
    pub head_len: u32,
    /// FNV-1a of the first `head_len` bytes, hex.
    pub head_hash: String,
    /// Last path the file was seen at.
    pub path: String,
    /// Source name that read it.
    pub source: String,
    /// Bytes durably stored: the next read starts here.
    pub offset: u64,
}

#[derive(Serialize, Deserialize)]
struct FileFormat {
    version: u32,
    entries: Vec<Entry>,
}

/// All checkpoints of one data directory.
#[derive(Debug)]
pub struct Checkpoints {
    path: PathBuf,
    entries: Vec<Entry>,
}

impl Checkpoints {
    /// Loads `<data_dir>/state/checkpoints.json` (empty if absent).
    pub fn load(data_dir: &Path) -> std::io::Result<Checkpoints> {
        let path = data_dir.join("state").join("checkpoints.json");
        let entries = match std::fs::read(&path) {
            Ok(bytes) => {
                let f: FileFormat = serde_json::from_slice(&bytes).map_err(|e| {
                    std::io::Error::other(format!("{}: not a checkpoint file: {e}", path.display()))
                })?;
                if f.version != CHECKPOINT_VERSION {
                    return Err(std::io::Error::other(format!(
                        "{}: checkpoint format version {} is not supported (this build writes {})",
                        path.display(),
                        f.version,
                        CHECKPOINT_VERSION
                    )));
                }
                f.entries
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(std::io::Error::other(format!("{}: {e}", path.display()))),
        };
        Ok(Checkpoints { path, entries })
    }

    /// The entry whose fingerprint matches a file starting with `head` (up to HEAD_BYTES).
    /// Prefers an entry last seen at `path` when several match.
    pub fn find(&self, head: &[u8], path: &str) -> Option<&Entry> {
        let matches = |e: &&Entry| {
            let n = e.head_len as usize;
            n > 0 && n <= head.len() && format!("{:016x}", fnv1a64(&head[..n])) == e.head_hash
        };
        let mut it = self.entries.iter().filter(matches);
        let first = it.next()?;
        if first.path == path {
            Some(first)
        } else {
            it.find(|e| e.path == path).or(Some(first))
        }
    }

    /// Registers a file (or refreshes its head and path) and returns its id.
    pub fn register(&mut self, head: &[u8], path: &str, source: &str, offset: u64) -> String {
        let head_hash = format!("{:016x}", fnv1a64(head));
        if let Some(id) = self.find(head, path).map(|e| e.id.clone()) {
            let e = self
                .entries
                .iter_mut()
                .find(|e| e.id == id)
                .expect("found above");
            if head.len() > e.head_len as usize {
                e.head_len = head.len() as u32;
                e.head_hash = head_hash;
            }
            e.path = path.to_string();
            return id;
        }
        let mut id = head_hash.clone();
        while self.entries.iter().any(|e| e.id == id) {
            id.push('+');
        }
        self.entries.push(Entry {
            id: id.clone(),
            head_len: head.len() as u32,
            head_hash,
            path: path.to_string(),
            source: source.to_string(),
            offset,
        });
        id
    }

    /// Advances file `id` to `offset` (never backwards).
    pub fn commit(&mut self, id: &str, offset: u64) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.id == id) {
            e.offset = e.offset.max(offset);
        }
    }

    /// Moves file `id` back to `offset` (it was truncated).
    pub fn reset(&mut self, id: &str, offset: u64) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.id == id) {
            e.offset = offset;
        }
    }

    /// The keyed entry (not a file: `head_len` 0) whose id starts with `prefix`.
    pub fn keyed(&self, prefix: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.head_len == 0 && e.id.starts_with(prefix))
    }

    /// Makes `id` the one keyed entry under `prefix` (others under it are dropped), at
    /// `offset` if it is new; an existing `id` keeps its offset.
    pub fn set_keyed(&mut self, prefix: &str, id: &str, path: &str, source: &str, offset: u64) {
        debug_assert!(id.starts_with(prefix));
        self.entries
            .retain(|e| !(e.head_len == 0 && e.id.starts_with(prefix) && e.id != id));
        if self.entries.iter().any(|e| e.id == id) {
            return;
        }
        self.entries.push(Entry {
            id: id.to_string(),
            head_len: 0,
            head_hash: String::new(),
            path: path.to_string(),
            source: source.to_string(),
            offset,
        });
    }

    /// Every entry.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Writes the file atomically.
    pub fn save(&self) -> std::io::Result<()> {
        let dir = self.path.parent().expect("checkpoint path has a parent");
        std::fs::create_dir_all(dir)?;
        let tmp = self.path.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(&FileFormat {
            version: CHECKPOINT_VERSION,
            entries: self.entries.clone(),
        })
        .map_err(std::io::Error::other)?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_growing_file_keeps_its_identity() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Checkpoints::load(dir.path()).unwrap();
        let id = c.register(b"short", "/a", "s", 0);
        c.commit(&id, 5);
        c.save().unwrap();
        let mut c = Checkpoints::load(dir.path()).unwrap();
        // Same file, now longer, seen at a new path (rotated).
        let e = c.find(b"short and longer", "/b").unwrap();
        assert_eq!((e.id.as_str(), e.offset), (id.as_str(), 5));
        assert_eq!(c.register(b"short and longer", "/b", "s", 0), id);
        assert_eq!(c.entries()[0].head_len, 16);
        // A different file is a different entry.
        assert!(c.find(b"other", "/b").is_none());
        c.commit(&id, 3);
        assert_eq!(c.entries()[0].offset, 5, "never backwards");
    }

    #[test]
    fn keyed_entries_persist_and_never_match_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Checkpoints::load(dir.path()).unwrap();
        let file = c.register(b"a file", "/f", "s", 0);
        c.set_keyed("kmsg:k@", "kmsg:k@boot1", "/dev/kmsg", "k", 7);
        c.commit("kmsg:k@boot1", 12);
        c.save().unwrap();
        let mut c = Checkpoints::load(dir.path()).unwrap();
        let e = c.keyed("kmsg:k@").unwrap();
        assert_eq!((e.id.as_str(), e.offset), ("kmsg:k@boot1", 12));
        assert!(c.keyed("kmsg:other@").is_none());
        // No head, however short, matches a keyed entry.
        assert_eq!(c.find(b"a file", "/dev/kmsg").unwrap().id, file);
        assert!(c.find(b"", "/dev/kmsg").is_none());
        // Setting the same id keeps its position; a new boot replaces the entry.
        c.set_keyed("kmsg:k@", "kmsg:k@boot1", "/dev/kmsg", "k", 0);
        assert_eq!(c.keyed("kmsg:k@").unwrap().offset, 12);
        c.set_keyed("kmsg:k@", "kmsg:k@boot2", "/dev/kmsg", "k", 0);
        assert_eq!(c.entries().len(), 2);
        let e = c.keyed("kmsg:k@").unwrap();
        assert_eq!((e.id.as_str(), e.offset), ("kmsg:k@boot2", 0));
    }

    #[test]
    fn an_unknown_version_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        std::fs::write(
            dir.path().join("state/checkpoints.json"),
            r#"{"version":9,"entries":[]}"#,
        )
        .unwrap();
        let e = Checkpoints::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("checkpoints.json") && e.contains("version 9"),
            "{e}"
        );
    }
}
