//! Window arithmetic on event time (µs since the epoch).
//!
//! Every window of a rule has the same length `size` and starts on a multiple of `slide`
//! (tumbling: `slide == size`). Windows are identified by their start; because they all
//! have the same length, ordering windows by start orders them by end, so "closed" is a
//! single horizon: every window whose start is `<=` the last closed start is closed.

/// Size and slide of a rule's windows, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpec {
    /// Window length.
    pub size: i64,
    /// Distance between consecutive window starts (`== size` for tumbling windows).
    pub slide: i64,
}

impl WindowSpec {
    /// A window spec; `slide` must be positive and divide `size`.
    pub fn new(size: i64, slide: i64) -> WindowSpec {
        assert!(
            size > 0 && slide > 0 && size % slide == 0,
            "invalid window {size}/{slide}"
        );
        WindowSpec { size, slide }
    }

    /// Number of windows each instant belongs to.
    pub fn per_event(&self) -> i64 {
        self.size / self.slide
    }

    /// Start of the newest window containing `ts`.
    pub fn last_start(&self, ts: i64) -> i64 {
        floor_to(ts, self.slide)
    }

    /// Start of the oldest window containing `ts`.
    pub fn first_start(&self, ts: i64) -> i64 {
        self.last_start(ts) - self.size + self.slide
    }

    /// Starts of every window containing `ts`, oldest first.
    pub fn starts(&self, ts: i64) -> impl Iterator<Item = i64> + use<> {
        let first = self.first_start(ts);
        let slide = self.slide;
        (0..self.per_event()).map(move |i| first + i * slide)
    }

    /// End (exclusive) of the window starting at `start`.
    pub fn end(&self, start: i64) -> i64 {
        start.saturating_add(self.size)
    }

    /// Start of the newest window whose end is `<= watermark`, i.e. the newest window a
    /// watermark closes.
    pub fn closable_through(&self, watermark: i64) -> i64 {
        floor_to(watermark.saturating_sub(self.size), self.slide)
    }

    /// Smallest window start `>= t`.
    pub fn ceil_start(&self, t: i64) -> i64 {
        let f = floor_to(t, self.slide);
        if f < t { f + self.slide } else { f }
    }
}

/// Largest multiple of `step` that is `<= t` (also for negative `t`).
pub fn floor_to(t: i64, step: i64) -> i64 {
    t.div_euclid(step) * step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tumbling() {
        let w = WindowSpec::new(60, 60);
        assert_eq!(w.starts(0).collect::<Vec<_>>(), vec![0]);
        assert_eq!(w.starts(59).collect::<Vec<_>>(), vec![0]);
        assert_eq!(w.starts(60).collect::<Vec<_>>(), vec![60]);
        assert_eq!(w.starts(-1).collect::<Vec<_>>(), vec![-60]);
        assert_eq!(w.closable_through(120), 60);
        assert_eq!(w.closable_through(119), 0);
        assert_eq!(w.ceil_start(61), 120);
        assert_eq!(w.ceil_start(60), 60);
    }

    #[test]
    fn sliding_membership_matches_definition() {
        let w = WindowSpec::new(50, 10);
        for ts in -120..120 {
            let got: Vec<i64> = w.starts(ts).collect();
            // Independent definition: every multiple of the slide s with s <= ts < s + size.
            let want: Vec<i64> = (-300..300)
                .filter(|s| s % 10 == 0 && *s <= ts && ts < s + 50)
                .collect();
            assert_eq!(got, want, "ts {ts}");
        }
        assert_eq!(w.closable_through(100), 50);
        assert_eq!(w.closable_through(99), 40);
    }
}
