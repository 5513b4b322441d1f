//! Group keys of a rule: the key columns of a batch rendered as text, encoded into one
//! string per row, and interned into small group ids (capped per rule).

use std::collections::HashMap;
use std::fmt::Write as _;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::{DataType, Int32Type, Int64Type, UInt32Type, UInt64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::engine::{MAX_GROUPS_PER_RULE, OVERFLOW_LABEL};

/// Interned group keys of one rule.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    /// Label values per group id.
    pub(crate) labels: Vec<Vec<String>>,
    /// Encoded key → group id.
    ids: HashMap<String, u32>,
    /// Id of the overflow group, once created.
    overflow: Option<u32>,
}

impl Groups {
    /// The id of `key` (an [`encode_key`] string), made from `values` when new; past
    /// [`MAX_GROUPS_PER_RULE`] groups, new keys all get the overflow group.
    pub(crate) fn intern(
        &mut self,
        key: &str,
        values: impl FnOnce() -> Vec<String>,
        width: usize,
    ) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        if self.labels.len() >= MAX_GROUPS_PER_RULE {
            if let Some(id) = self.overflow {
                return id;
            }
            let id = self.labels.len() as u32;
            self.labels.push(vec![OVERFLOW_LABEL.to_string(); width]);
            self.overflow = Some(id);
            return id;
        }
        let id = self.labels.len() as u32;
        self.labels.push(values());
        self.ids.insert(key.to_string(), id);
        id
    }

    /// Sorts group ids by their label values (deterministic output order).
    pub(crate) fn sort(&self, ids: &mut [u32]) {
        ids.sort_by(|a, b| self.labels[*a as usize].cmp(&self.labels[*b as usize]));
    }
}

/// A group-by column of one batch, rendered as strings (null → "").
pub(crate) enum KeyCol<'a> {
    Utf8(&'a StringArray),
    /// Integer columns (event ids, pids) as decimal, as Arrow's formatter writes them, without
    /// its formatting machinery per row.
    Int(&'a dyn Array, fn(&dyn Array, usize, &mut String)),
    Other(ArrayFormatter<'a>),
}

/// Appends the decimal text of row `row` (valid) of an integer array of type `T`.
fn int_text<T>(a: &dyn Array, row: usize, out: &mut String)
where
    T: datafusion::arrow::datatypes::ArrowPrimitiveType,
    T::Native: itoa::Integer,
{
    out.push_str(itoa::Buffer::new().format(a.as_primitive::<T>().value(row)));
}

impl<'a> KeyCol<'a> {
    pub(crate) fn new(array: &'a ArrayRef) -> Result<KeyCol<'a>, String> {
        if let Some(s) = array.as_any().downcast_ref::<StringArray>() {
            return Ok(KeyCol::Utf8(s));
        }
        let int: Option<fn(&dyn Array, usize, &mut String)> = match array.data_type() {
            DataType::UInt32 => Some(int_text::<UInt32Type>),
            DataType::UInt64 => Some(int_text::<UInt64Type>),
            DataType::Int32 => Some(int_text::<Int32Type>),
            DataType::Int64 => Some(int_text::<Int64Type>),
            _ => None,
        };
        if let Some(f) = int {
            return Ok(KeyCol::Int(array.as_ref(), f));
        }
        ArrayFormatter::try_new(array.as_ref(), &NULL_AS_EMPTY)
            .map(KeyCol::Other)
            .map_err(|e| e.to_string())
    }

    pub(crate) fn write(&self, row: usize, out: &mut String) {
        match self {
            KeyCol::Utf8(a) => {
                if a.is_valid(row) {
                    out.push_str(a.value(row));
                }
            }
            KeyCol::Int(a, f) => {
                if a.is_valid(row) {
                    f(*a, row, out);
                }
            }
            KeyCol::Other(f) => {
                let _ = write!(out, "{}", f.value(row));
            }
        }
    }
}

static NULL_AS_EMPTY: FormatOptions<'static> = FormatOptions::new().with_null("");

/// Writes row `row`'s key into `key` (cleared first): each column's text prefixed by its
/// length, so that no two different tuples of values give the same key.
pub(crate) fn encode_key(cols: &[KeyCol<'_>], row: usize, key: &mut String, scratch: &mut String) {
    key.clear();
    for col in cols {
        scratch.clear();
        col.write(row, scratch);
        key.push_str(itoa::Buffer::new().format(scratch.len()));
        key.push(':');
        key.push_str(scratch);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, UInt32Array};

    use super::*;

    /// Integer keys are written as Arrow's formatter writes them (it was the only path).
    #[test]
    fn integer_keys_read_as_arrows_display() {
        let arrays: [ArrayRef; 2] = [
            Arc::new(UInt32Array::from(vec![
                Some(4625),
                None,
                Some(0),
                Some(u32::MAX),
            ])),
            Arc::new(Int64Array::from(vec![
                Some(-7),
                Some(i64::MIN),
                None,
                Some(42),
            ])),
        ];
        for a in &arrays {
            let col = KeyCol::new(a).unwrap();
            assert!(matches!(col, KeyCol::Int(..)));
            let reference = ArrayFormatter::try_new(a.as_ref(), &NULL_AS_EMPTY).unwrap();
            for row in 0..a.len() {
                let mut ours = String::new();
                col.write(row, &mut ours);
                assert_eq!(ours, reference.value(row).to_string(), "row {row}");
            }
        }
        let (mut key, mut scratch) = (String::new(), String::new());
        let cols: Vec<KeyCol<'_>> = arrays.iter().map(|a| KeyCol::new(a).unwrap()).collect();
        encode_key(&cols, 0, &mut key, &mut scratch);
        assert_eq!(key, "4:46252:-7");
        encode_key(&cols, 1, &mut key, &mut scratch);
        assert_eq!(key, "0:20:-9223372036854775808");
    }
}
