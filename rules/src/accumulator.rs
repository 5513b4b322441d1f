//! Incremental accumulators: one per (window, group), O(1) per event.

use crate::config::AggFn;

/// Running count, sum, min and max of one window and group. All five aggregates are
/// derived from it, so one type serves every rule.
#[derive(Debug, Clone, Copy, PartialEq)]
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
}

impl Default for Accumulator {
    fn default() -> Self {
        Accumulator {
            rows: 0,
            values: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Accumulator {
    /// Counts one row without a value (`count` without a column).
    pub fn add_row(&mut self) {
        self.rows += 1;
    }

    /// Adds one non-null value (NaN values are ignored).
    pub fn add_value(&mut self, v: f64) {
        if v.is_nan() {
            return;
        }
        self.rows += 1;
        self.values += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// The aggregate's value: count and sum are 0 when nothing was added, min/max/avg are
    /// `None` when no value was added.
    pub fn value(&self, func: AggFn) -> Option<f64> {
        match func {
            AggFn::Count => Some(self.rows as f64),
            AggFn::Sum => Some(self.sum),
            AggFn::Min => (self.values > 0).then_some(self.min),
            AggFn::Max => (self.values > 0).then_some(self.max),
            AggFn::Avg => (self.values > 0).then(|| self.sum / self.values as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates() {
        let mut a = Accumulator::default();
        assert_eq!(a.value(AggFn::Count), Some(0.0));
        assert_eq!(a.value(AggFn::Sum), Some(0.0));
        assert_eq!(a.value(AggFn::Min), None);
        assert_eq!(a.value(AggFn::Avg), None);
        for v in [3.0, -1.5, 10.0, f64::NAN] {
            a.add_value(v);
        }
        assert_eq!(a.value(AggFn::Count), Some(3.0));
        assert_eq!(a.value(AggFn::Sum), Some(11.5));
        assert_eq!(a.value(AggFn::Min), Some(-1.5));
        assert_eq!(a.value(AggFn::Max), Some(10.0));
        assert_eq!(a.value(AggFn::Avg), Some(11.5 / 3.0));
        a.add_row();
        assert_eq!(a.value(AggFn::Count), Some(4.0));
        assert_eq!(a.value(AggFn::Avg), Some(11.5 / 3.0));
    }
}
