//! Splitting a table's buffered rows into hive partitions (`date=YYYY-MM-DD/hour=HH`, from
//! each row's `ts` in UTC) with the rows of each partition sorted by `(host, ts)`.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch};
use arrow::compute::{SortColumn, lexsort_to_indices, take_record_batch};
use arrow::datatypes::TimestampMicrosecondType;
use arrow::error::ArrowError;

/// Microseconds in one hour.
const US_PER_HOUR: i64 = 3_600_000_000;

/// Rows of one table that fall in one UTC hour, sorted by `(host, ts)`.
#[derive(Debug)]
pub(crate) struct HourPartition {
    /// Hours since the Unix epoch (UTC) of every row's `ts`.
    pub hour: i64,
    /// The rows; a slice of the sorted flush batch.
    pub batch: RecordBatch,
}

/// Hours since the epoch of a `ts` in µs (floor, so times before 1970 land correctly).
pub(crate) fn hour_of(ts_us: i64) -> i64 {
    ts_us.div_euclid(US_PER_HOUR)
}

/// Relative directory of an hour: `date=YYYY-MM-DD/hour=HH`, or `None` when the hour is
/// outside the calendar range chrono can represent.
pub(crate) fn partition_dir(hour: i64) -> Option<String> {
    let secs = hour.checked_mul(3600)?;
    let t = chrono::DateTime::from_timestamp(secs, 0)?;
    Some(format!(
        "date={}/hour={}",
        t.format("%Y-%m-%d"),
        t.format("%H")
    ))
}

/// Sorts `batch` by `(hour(ts), host, ts)` (skipped when already in that order) and returns
/// one slice per hour, in ascending hour order. `batch` must have a non-null
/// `Timestamp(µs)` column `ts` and a non-null `Utf8` column `host`.
pub(crate) fn split_by_hour(batch: &RecordBatch) -> Result<Vec<HourPartition>, ArrowError> {
    if batch.num_rows() == 0 {
        return Ok(Vec::new());
    }
    let schema = batch.schema();
    let ts_idx = schema.index_of("ts")?;
    let host_idx = schema.index_of("host")?;
    let ts = batch
        .column(ts_idx)
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| ArrowError::SchemaError("column ts is not Timestamp(µs)".into()))?;
    let host = batch
        .column(host_idx)
        .as_string_opt::<i32>()
        .ok_or_else(|| ArrowError::SchemaError("column host is not Utf8".into()))?;
    if ts.null_count() > 0 || host.null_count() > 0 {
        return Err(ArrowError::InvalidArgumentError(
            "ts and host must not be null".into(),
        ));
    }
    let ts_values = ts.values();
    let hours: Vec<i64> = ts_values.iter().map(|&t| hour_of(t)).collect();

    let key = |i: usize| (hours[i], host.value(i), ts_values[i]);
    let sorted = (1..batch.num_rows()).all(|i| key(i - 1).cmp(&key(i)) != Ordering::Greater);

    let (batch, hours) = if sorted {
        (batch.clone(), hours)
    } else {
        let hour_col: ArrayRef = Arc::new(Int64Array::from(hours));
        let indices = lexsort_to_indices(
            &[
                SortColumn {
                    values: Arc::clone(&hour_col),
                    options: None,
                },
                SortColumn {
                    values: Arc::clone(batch.column(host_idx)),
                    options: None,
                },
                SortColumn {
                    values: Arc::clone(batch.column(ts_idx)),
                    options: None,
                },
            ],
            None,
        )?;
        let sorted_batch = take_record_batch(batch, &indices)?;
        let hours = sorted_batch
            .column(ts_idx)
            .as_primitive::<TimestampMicrosecondType>()
            .values()
            .iter()
            .map(|&t| hour_of(t))
            .collect();
        (sorted_batch, hours)
    };

    let mut parts = Vec::new();
    let mut start = 0;
    for i in 1..=hours.len() {
        if i == hours.len() || hours[i] != hours[start] {
            parts.push(HourPartition {
                hour: hours[start],
                batch: batch.slice(start, i - start),
            });
            start = i;
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{StringArray, TimestampMicrosecondArray, UInt64Array};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    fn batch(rows: &[(i64, &str, u64)]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("host", DataType::Utf8, false),
            Field::new("id", DataType::UInt64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(
                    TimestampMicrosecondArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())
                        .with_timezone("UTC"),
                ),
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                )),
                Arc::new(UInt64Array::from(
                    rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap()
    }

    fn ids(b: &RecordBatch) -> Vec<u64> {
        b.column(2)
            .as_primitive::<arrow::datatypes::UInt64Type>()
            .values()
            .to_vec()
    }

    #[test]
    fn dirs_are_utc_and_zero_padded() {
        // 2026-11-23T05:00:00Z = 1_795_410_000 s
        assert_eq!(
            partition_dir(hour_of(1_795_410_000_000_000)).unwrap(),
            "date=2026-11-23/hour=05"
        );
        assert_eq!(partition_dir(0).unwrap(), "date=1970-01-01/hour=00");
        // One µs before the epoch is the last hour of 1969.
        assert_eq!(hour_of(-1), -1);
        assert_eq!(partition_dir(-1).unwrap(), "date=1969-12-31/hour=23");
        assert!(partition_dir(i64::MAX / 1000).is_none());
    }

    #[test]
    fn splits_and_sorts() {
        let h = US_PER_HOUR;
        let b = batch(&[
            (h + 5, "b", 0),
            (2 * h + 1, "a", 1),
            (h + 9, "a", 2),
            (h + 1, "b", 3),
            (2 * h, "z", 4),
        ]);
        let parts = split_by_hour(&b).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].hour, 1);
        assert_eq!(ids(&parts[0].batch), vec![2, 3, 0]);
        assert_eq!(parts[1].hour, 2);
        assert_eq!(ids(&parts[1].batch), vec![1, 4]);
    }

    #[test]
    fn sorted_input_is_kept_as_is() {
        let b = batch(&[(1, "a", 0), (2, "a", 1), (0, "b", 2)]);
        let parts = split_by_hour(&b).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(ids(&parts[0].batch), vec![0, 1, 2]);
        assert!(split_by_hour(&b.slice(0, 0)).unwrap().is_empty());
    }
}
