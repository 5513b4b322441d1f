//! A string column that usually holds one value in every row of a batch (a source's host,
//! a boot id, a clock): kept once while the rows agree and written out at [`SameValue::take`]
//! as one repeated array, instead of one Arrow append (offset, bytes, validity, each with
//! its capacity check) per row. From the first row that differs, rows are appended to a
//! builder as usual, so a column whose values keep changing costs what a builder costs.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef, StringArray};

/// What the rows pushed since the last take hold.
#[derive(Default)]
enum State {
    #[default]
    Empty,
    /// The same value (or null) in every row.
    Same(Option<Box<str>>),
    /// Values differ: every row is in the builder.
    Mixed,
}

/// See the module docs.
#[derive(Default)]
pub(crate) struct SameValue {
    state: State,
    rows: usize,
    builder: StringBuilder,
}

impl SameValue {
    /// Appends one row.
    pub(crate) fn push(&mut self, v: Option<&str>) {
        match &mut self.state {
            State::Empty => self.state = State::Same(v.map(Box::from)),
            State::Same(s) if s.as_deref() == v => {}
            State::Same(s) => {
                for _ in 0..self.rows {
                    self.builder.append_option(s.as_deref());
                }
                self.builder.append_option(v);
                self.state = State::Mixed;
            }
            State::Mixed => self.builder.append_option(v),
        }
        self.rows += 1;
    }

    /// The column of the rows pushed since the last take. The builder keeps room for as
    /// many rows and bytes, as the other columns' builders do.
    pub(crate) fn take(&mut self) -> ArrayRef {
        let a = match std::mem::take(&mut self.state) {
            State::Empty => StringArray::new_null(0),
            State::Same(Some(v)) => StringArray::new_repeated(&*v, self.rows),
            State::Same(None) => StringArray::new_null(self.rows),
            State::Mixed => {
                let a = self.builder.finish();
                self.builder = StringBuilder::with_capacity(a.len(), a.value_data().len());
                a
            }
        };
        self.rows = 0;
        Arc::new(a)
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;

    use super::*;

    fn values(a: &ArrayRef) -> Vec<Option<&str>> {
        a.as_string::<i32>().iter().collect()
    }

    #[test]
    fn one_value_one_null_or_many() {
        let mut c = SameValue::default();
        for _ in 0..3 {
            c.push(Some("h"));
        }
        assert_eq!(values(&c.take()), [Some("h"); 3]);
        c.push(None);
        c.push(None);
        let nulls = c.take();
        assert_eq!((nulls.len(), nulls.null_count()), (2, 2));
        for v in [Some("a"), Some("a"), None, Some("b"), Some("a")] {
            c.push(v);
        }
        assert_eq!(
            values(&c.take()),
            [Some("a"), Some("a"), None, Some("b"), Some("a")]
        );
        // The next batch starts afresh.
        c.push(Some("z"));
        assert_eq!(values(&c.take()), [Some("z")]);
        assert_eq!(c.take().len(), 0);
    }
}
