//! The rows of a batch a rule reads: its filter's selection, applied to only the columns
//! its value and group expressions read.
//!
//! Why: a rule's filter usually selects a few rows of a batch (one event id among many),
//! while its value and group expressions (map lookups such as
//! `event_data['TargetUserName']`) cost per row of the batch they are evaluated on.
//! Evaluated over the selected rows only, they cost per selected row. Columns that no
//! expression reads are not copied: they become null arrays, or, where the schema does
//! not allow nulls, are filtered too (the few such columns are small).

use datafusion::arrow::array::{BooleanArray, new_null_array};
use datafusion::arrow::compute::filter;
use datafusion::arrow::record_batch::RecordBatch;

/// What a rule does with a batch, given its filter's mask (nulls already false).
pub(crate) enum Rows {
    /// No row is selected: only the watermark moves.
    None,
    /// Every row, in this batch.
    All(RecordBatch),
    /// The selected rows only, in a narrowed batch (see [`narrow`]).
    Some(RecordBatch),
}

/// Decides how to read `batch` under `mask`; `used[i]` says whether column `i` is read.
pub(crate) fn select(
    batch: &RecordBatch,
    mask: Option<&BooleanArray>,
    used: &[bool],
) -> Result<Rows, String> {
    let Some(mask) = mask else {
        return Ok(Rows::All(batch.clone()));
    };
    match mask.true_count() {
        0 => Ok(Rows::None),
        n if n == batch.num_rows() => Ok(Rows::All(batch.clone())),
        _ => narrow(batch, mask, used).map(Rows::Some),
    }
}

/// `batch` with only the rows `mask` selects: the columns `used` marks (and those that
/// may not be null) filtered, the others all null.
pub(crate) fn narrow(
    batch: &RecordBatch,
    mask: &BooleanArray,
    used: &[bool],
) -> Result<RecordBatch, String> {
    let rows = mask.true_count();
    let schema = batch.schema();
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .enumerate()
        .map(|(i, (col, field))| {
            if used.get(i).copied().unwrap_or(true) || !field.is_nullable() {
                filter(col.as_ref(), mask).map_err(|e| e.to_string())
            } else {
                Ok(new_null_array(field.data_type(), rows))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema, columns).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, AsArray, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("other", DataType::Utf8, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
                Arc::new(StringArray::from(vec!["a", "b", "c", "d"])),
                Arc::new(StringArray::from(vec!["w", "x", "y", "z"])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn narrows_to_the_selected_rows_of_the_used_columns() {
        let mask = BooleanArray::from(vec![false, true, false, true]);
        let Rows::Some(b) = select(&batch(), Some(&mask), &[false, true, false]).unwrap() else {
            panic!("a part is selected");
        };
        assert_eq!(b.num_rows(), 2);
        // Not nullable: filtered although unused.
        assert_eq!(b.column(0).as_primitive::<Int64Type>().values(), &[2, 4]);
        let names = b.column(1).as_string::<i32>();
        assert_eq!((names.value(0), names.value(1)), ("b", "d"));
        // Unused and nullable: nulls, not copied.
        assert_eq!(b.column(2).null_count(), 2);
    }

    #[test]
    fn none_and_all_are_not_copied() {
        let none = BooleanArray::from(vec![false; 4]);
        assert!(matches!(
            select(&batch(), Some(&none), &[true; 3]).unwrap(),
            Rows::None
        ));
        let all = BooleanArray::from(vec![true; 4]);
        assert!(matches!(
            select(&batch(), Some(&all), &[true; 3]).unwrap(),
            Rows::All(_)
        ));
        assert!(matches!(
            select(&batch(), None, &[true; 3]).unwrap(),
            Rows::All(_)
        ));
    }
}
