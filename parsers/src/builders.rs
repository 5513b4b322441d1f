//! Arrow builders refilled batch after batch, shared by the kinds' column modules.
//!
//! `finish` leaves a builder with no capacity, so every batch would regrow (and copy) each
//! buffer from empty about a dozen times; the `take_*` functions instead leave the builder
//! with room for as many rows (and bytes) as the batch it just gave, which a source's next
//! batch, being alike, fills without growing.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, MapBuilder, PrimitiveBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::types::ArrowPrimitiveType;
use arrow_array::{Array, ArrayRef};

/// An event-time builder: µs since the epoch, in UTC (the schemas' timestamp type).
pub(crate) fn ts_builder() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

/// `b`'s array, leaving `b` empty with room for as many values (and the same data type,
/// so a timestamp keeps its time zone).
pub(crate) fn take_primitive<T: ArrowPrimitiveType>(b: &mut PrimitiveBuilder<T>) -> ArrayRef {
    let array = b.finish();
    *b = PrimitiveBuilder::with_capacity(array.len()).with_data_type(array.data_type().clone());
    Arc::new(array)
}

/// `b`'s array, leaving `b` empty with room for as many strings and bytes.
pub(crate) fn take_str(b: &mut StringBuilder) -> ArrayRef {
    let fresh = StringBuilder::with_capacity(b.len(), b.values_slice().len());
    Arc::new(std::mem::replace(b, fresh).finish())
}

/// `b`'s array, leaving `b` empty with room for as many rows, keys and values.
pub(crate) fn take_map(b: &mut MapBuilder<StringBuilder, StringBuilder>) -> ArrayRef {
    let keys = StringBuilder::with_capacity(b.keys().len(), b.keys().values_slice().len());
    let values = StringBuilder::with_capacity(b.values().len(), b.values().values_slice().len());
    let fresh = MapBuilder::with_capacity(None, keys, values, b.len());
    Arc::new(std::mem::replace(b, fresh).finish())
}
