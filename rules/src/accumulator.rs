//! Incremental accumulators: one per (window, group), O(1) per event (quantiles keep
//! their window's values).

use crate::config::AggFn;

/// Running count, sum, min and max of one window and group. All five aggregates are
/// derived from it, so one type serves every rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Accumulator {
    /// Rows counted (for `count`; with a column, only rows whose value is non-null).
    pub rows: u64,
    /// Non-null values seen.
    pub values: u64,
    /// Sum of the values.
    pub sum: f64,
    /// Smallest value (`+inf` when none).
    pub min: f64,
    /// Largest value (`-inf` when none).
    pub max: f64,
    /// Every value, for quantiles only (other functions keep this empty).
    pub kept: Vec<f64>,
}

impl Default for Accumulator {
    fn default() -> Self {
        Accumulator {
            rows: 0,
            values: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            kept: Vec::new(),
        }
    }
}

impl Accumulator {
    /// Counts one row without a value (`count` without a column).
    pub fn add_row(&mut self) {
        self.rows += 1;
    }

    /// Adds one non-null value (NaN values are ignored); `keep` stores it for a quantile.
    pub fn add_value(&mut self, v: f64, keep: bool) {
        if v.is_nan() {
            return;
        }
        if keep {
            self.kept.push(v);
        }
        self.rows += 1;
        self.values += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// The aggregate's value: count, sum and rate are 0 when nothing was added,
    /// min/max/avg/quantile are `None` when no value was added. `quantile` is the `q` of
    /// [`AggFn::Quantile`]; `window_seconds` divides [`AggFn::Rate`].
    pub fn value(&mut self, func: AggFn, quantile: f64, window_seconds: f64) -> Option<f64> {
        match func {
            AggFn::Count => Some(self.rows as f64),
            AggFn::Sum => Some(self.sum),
            AggFn::Min => (self.values > 0).then_some(self.min),
            AggFn::Max => (self.values > 0).then_some(self.max),
            AggFn::Avg => (self.values > 0).then(|| self.sum / self.values as f64),
            AggFn::Rate => {
                let total = if self.values > 0 {
                    self.sum
                } else {
                    self.rows as f64
                };
                Some(total / window_seconds)
            }
            AggFn::Quantile => quantile_of(&mut self.kept, quantile),
        }
    }
}

/// The `q` quantile of `values` by linear interpolation between the closest ranks (the
/// definition of numpy's default and of PostgreSQL's `percentile_cont`).
fn quantile_of(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let rank = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(values[lo] + (values[hi] - values[lo]) * (rank - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates() {
        let mut a = Accumulator::default();
        assert_eq!(a.value(AggFn::Count, 0.5, 10.0), Some(0.0));
        assert_eq!(a.value(AggFn::Sum, 0.5, 10.0), Some(0.0));
        assert_eq!(a.value(AggFn::Min, 0.5, 10.0), None);
        assert_eq!(a.value(AggFn::Avg, 0.5, 10.0), None);
        for v in [3.0, -1.5, 10.0, f64::NAN] {
            a.add_value(v, true);
        }
        assert_eq!(a.value(AggFn::Count, 0.5, 10.0), Some(3.0));
        assert_eq!(a.value(AggFn::Sum, 0.5, 10.0), Some(11.5));
        assert_eq!(a.value(AggFn::Min, 0.5, 10.0), Some(-1.5));
        assert_eq!(a.value(AggFn::Max, 0.5, 10.0), Some(10.0));
        assert_eq!(a.value(AggFn::Avg, 0.5, 10.0), Some(11.5 / 3.0));
        // Values 3, -1.5, 10: the median is 3; the 0.25 quantile lies halfway between
        // -1.5 and 3; rate is the sum per second of a 10 s window.
        assert_eq!(a.value(AggFn::Quantile, 0.5, 10.0), Some(3.0));
        assert_eq!(a.value(AggFn::Quantile, 0.25, 10.0), Some(0.75));
        assert_eq!(a.value(AggFn::Quantile, 1.0, 10.0), Some(10.0));
        assert_eq!(a.value(AggFn::Rate, 0.5, 10.0), Some(1.15));
        a.add_row();
        assert_eq!(a.value(AggFn::Count, 0.5, 10.0), Some(4.0));
        assert_eq!(a.value(AggFn::Avg, 0.5, 10.0), Some(11.5 / 3.0));
    }
}
