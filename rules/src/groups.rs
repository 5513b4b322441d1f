//! Group keys of a rule: the key columns of a batch rendered as text, encoded into one
//! string per row, and interned into small group ids (capped per rule).

use std::collections::HashMap;
use std::fmt::Write as _;

use datafusion::arrow::array::{Array, ArrayRef, StringArray};
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
    Other(ArrayFormatter<'a>),
}

impl<'a> KeyCol<'a> {
    pub(crate) fn new(array: &'a ArrayRef) -> Result<KeyCol<'a>, String> {
        if let Some(s) = array.as_any().downcast_ref::<StringArray>() {
            return Ok(KeyCol::Utf8(s));
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
        let _ = write!(key, "{}:{}", scratch.len(), scratch);
    }
}
