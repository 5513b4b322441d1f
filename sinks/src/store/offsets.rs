//! Which source offsets are durable.
//!
//! Batches of different tables from the same source overlap in offsets (one chunk yields a
//! `kernel_events` batch and a `dead_letters` batch with the same `end`), and tables flush at
//! different times. So "the max `end` of flushed batches" is not enough: a source is
//! committed up to `X` only when every batch appended so far whose `end <= X` is on disk,
//! i.e. `X` is the largest flushed `end` below the smallest `end` still buffered.
//!
//! That is exact when the decode stage puts every row into the first batch (of its kind)
//! whose `end` lies past the row, which it does by finishing all of a source's builders at
//! the same points.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serversage_parsers::SourceOffset;

#[derive(Debug, Default)]
struct SourceState {
    /// Ends of batches still buffered (a multiset: end → count).
    buffered: BTreeMap<u64, usize>,
    /// Ends of batches on disk that are not yet reported.
    durable: BTreeSet<u64>,
    /// Last offset handed out by [`CommitTracker::take`].
    reported: Option<u64>,
}

/// Tracks buffered and durable batch ends per source.
#[derive(Debug, Default)]
pub(crate) struct CommitTracker {
    sources: HashMap<String, SourceState>,
}

/// The largest `end` per source in a batch's offsets.
pub(crate) fn max_per_source(offsets: &[SourceOffset]) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::with_capacity(offsets.len());
    for o in offsets {
        match out.iter_mut().find(|(s, _)| *s == o.source_id) {
            Some((_, end)) => *end = (*end).max(o.end),
            None => out.push((o.source_id.clone(), o.end)),
        }
    }
    out
}

impl CommitTracker {
    /// A batch with these ends was buffered.
    pub fn buffered(&mut self, ends: &[(String, u64)]) {
        for (source, end) in ends {
            let st = self.sources.entry(source.clone()).or_default();
            *st.buffered.entry(*end).or_insert(0) += 1;
        }
    }

    /// A buffered batch was taken back out (its append failed).
    pub fn unbuffered(&mut self, ends: &[(String, u64)]) {
        for (source, end) in ends {
            if let Some(st) = self.sources.get_mut(source) {
                remove_one(&mut st.buffered, *end);
            }
        }
    }

    /// A buffered batch with these ends is now on disk.
    pub fn flushed(&mut self, ends: &[(String, u64)]) {
        for (source, end) in ends {
            let st = self.sources.entry(source.clone()).or_default();
            remove_one(&mut st.buffered, *end);
            if st.reported.is_none_or(|r| *end > r) {
                st.durable.insert(*end);
            }
        }
    }

    /// A batch with these ends needed no write (it had no rows).
    pub fn durable_without_write(&mut self, ends: &[(String, u64)]) {
        self.buffered(ends);
        self.flushed(ends);
    }

    /// Newly committed offsets, one per source, since the last call.
    pub fn take(&mut self) -> Vec<SourceOffset> {
        let mut out = Vec::new();
        // A settled source keeps only `reported` (a few bytes per source file ever seen), so a
        // late, lower end is never handed out after a higher one.
        for (source, st) in &mut self.sources {
            let limit = st.buffered.keys().next().copied();
            let candidate = match limit {
                Some(l) => st.durable.range(..l).next_back().copied(),
                None => st.durable.last().copied(),
            };
            if let Some(c) = candidate {
                if st.reported.is_none_or(|r| c > r) {
                    out.push(SourceOffset {
                        source_id: source.clone(),
                        end: c,
                    });
                    st.reported = Some(c);
                }
                st.durable = st.durable.split_off(&(c + 1));
            }
        }
        out.sort_by(|a, b| a.source_id.cmp(&b.source_id));
        out
    }
}

fn remove_one(m: &mut BTreeMap<u64, usize>, end: u64) {
    if let Some(n) = m.get_mut(&end) {
        *n -= 1;
        if *n == 0 {
            m.remove(&end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(s: &str, end: u64) -> Vec<(String, u64)> {
        vec![(s.to_string(), end)]
    }

    fn taken(t: &mut CommitTracker) -> Vec<(String, u64)> {
        t.take().into_iter().map(|o| (o.source_id, o.end)).collect()
    }

    #[test]
    fn max_per_source_merges() {
        let offs = vec![
            SourceOffset {
                source_id: "a".into(),
                end: 5,
            },
            SourceOffset {
                source_id: "b".into(),
                end: 1,
            },
            SourceOffset {
                source_id: "a".into(),
                end: 9,
            },
        ];
        assert_eq!(
            max_per_source(&offs),
            vec![("a".to_string(), 9), ("b".to_string(), 1)]
        );
    }

    #[test]
    fn commits_only_below_the_oldest_buffered_end() {
        let mut t = CommitTracker::default();
        // chunk 1 → kernel K1 and dead letters D1, both end 100; chunk 2 → K2 end 200.
        t.buffered(&e("s", 100)); // K1
        t.buffered(&e("s", 100)); // D1
        t.buffered(&e("s", 200)); // K2
        assert!(taken(&mut t).is_empty());
        // The kernel table flushes K1 and K2; D1 (end 100) is still buffered.
        t.flushed(&e("s", 100));
        t.flushed(&e("s", 200));
        assert!(taken(&mut t).is_empty(), "D1 still holds rows before 100");
        // D1 flushes: everything up to 200 is durable.
        t.flushed(&e("s", 100));
        assert_eq!(taken(&mut t), e("s", 200));
        assert!(taken(&mut t).is_empty(), "reported once");
    }

    #[test]
    fn partial_progress_and_sources_independent() {
        let mut t = CommitTracker::default();
        t.buffered(&e("a", 10));
        t.buffered(&e("a", 20));
        t.buffered(&e("b", 7));
        t.flushed(&e("a", 10));
        t.flushed(&e("b", 7));
        assert_eq!(taken(&mut t), vec![("a".into(), 10), ("b".into(), 7)]);
        t.unbuffered(&e("a", 20));
        assert!(taken(&mut t).is_empty());
        t.durable_without_write(&e("a", 30));
        assert_eq!(taken(&mut t), e("a", 30));
        // A late, lower end is never reported after a higher one.
        t.durable_without_write(&e("a", 25));
        assert!(taken(&mut t).is_empty());
    }
}
