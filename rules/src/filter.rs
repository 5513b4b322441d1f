//! Rule filters: a SQL boolean expression compiled once by DataFusion into a physical
//! expression, then evaluated on whole Arrow batches (vectorised, never row by row).

use std::fmt;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray};
use datafusion::arrow::compute::prep_null_mask_filter;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::DFSchema;
use datafusion::common::tree_node::TreeNode;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{Expr, ExprSchemable, Volatility};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::utils::collect_columns;
use datafusion::prelude::SessionContext;
use serversage_parsers::EventKind;

/// One session shared by every compilation: it only supplies the function registry and
/// the type-coercion rules. Compiling does not touch the clock or any I/O.
static SESSION: LazyLock<SessionContext> = LazyLock::new(SessionContext::new);

/// A compiled filter of one event kind.
#[derive(Clone)]
pub struct Filter {
    sql: String,
    expr: Arc<dyn PhysicalExpr>,
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter").field("sql", &self.sql).finish()
    }
}

impl Filter {
    /// Parses `sql` against `kind`'s schema and type-checks it as a boolean expression.
    /// Rejects unknown columns, non-boolean results, aggregates and functions that are not
    /// immutable (`now()`, `random()`): they would make a rule depend on when it runs.
    pub fn compile(sql: &str, kind: EventKind) -> Result<Filter, String> {
        if sql.trim().is_empty() {
            return Err("empty filter".into());
        }
        let (expr, data_type) = compile_expr(sql, kind, "filter")?;
        if data_type != DataType::Boolean {
            return Err(format!(
                "filter must be a boolean expression, but {sql:?} is {data_type}"
            ));
        }
        Ok(Filter {
            sql: sql.to_string(),
            expr,
        })
    }

    /// The filter's SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Evaluates the filter over `batch` (in the kind's schema): one boolean per row,
    /// null results mapped to false, no nulls in the result.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray, String> {
        let value = self
            .expr
            .evaluate(batch)
            .map_err(|e| clean(e.to_string()))?;
        let array = value
            .into_array(batch.num_rows())
            .map_err(|e| clean(e.to_string()))?;
        let mask = array
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| format!("filter produced {} instead of Boolean", array.data_type()))?;
        Ok(if mask.null_count() > 0 {
            prep_null_mask_filter(mask)
        } else {
            mask.clone()
        })
    }
}

/// A compiled numeric SQL expression of one event kind (`heap_after_bytes /
/// heap_capacity_bytes`), evaluated on whole batches like a [`Filter`].
#[derive(Clone)]
pub struct ValueExpr {
    sql: String,
    expr: Arc<dyn PhysicalExpr>,
}

impl fmt::Debug for ValueExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueExpr").field("sql", &self.sql).finish()
    }
}

impl ValueExpr {
    /// Parses `sql` against `kind`'s schema; the result must be numeric. Same determinism
    /// rules as [`Filter::compile`].
    pub fn compile(sql: &str, kind: EventKind) -> Result<ValueExpr, String> {
        if sql.trim().is_empty() {
            return Err("empty expression".into());
        }
        let (expr, data_type) = compile_expr(sql, kind, "expression")?;
        if !data_type.is_numeric() {
            return Err(format!(
                "expression must be numeric, but {sql:?} is {data_type}"
            ));
        }
        Ok(ValueExpr {
            sql: sql.to_string(),
            expr,
        })
    }

    /// Parses `sql` as a group key: any type (rendered as text in labels).
    pub fn compile_key(sql: &str, kind: EventKind) -> Result<ValueExpr, String> {
        let (expr, _) = compile_expr(sql, kind, "group expression")?;
        Ok(ValueExpr {
            sql: sql.to_string(),
            expr,
        })
    }

    /// The expression's SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Indices (in the kind's schema) of the columns the expression reads.
    pub fn columns(&self) -> Vec<usize> {
        collect_columns(&self.expr)
            .iter()
            .map(|c| c.index())
            .collect()
    }

    /// Evaluates the expression over `batch`: one value per row (nulls where SQL gives
    /// null, such as a division by a null column).
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<ArrayRef, String> {
        self.expr
            .evaluate(batch)
            .and_then(|v| v.into_array(batch.num_rows()))
            .map_err(|e| clean(e.to_string()))
    }
}

/// Parses and type-checks one SQL expression over `kind`'s schema, refusing volatile
/// functions; returns the physical expression and its type.
fn compile_expr(
    sql: &str,
    kind: EventKind,
    what: &str,
) -> Result<(Arc<dyn PhysicalExpr>, DataType), String> {
    let schema = kind.schema();
    let df_schema =
        DFSchema::try_from(schema.as_ref().clone()).map_err(|e| clean(e.to_string()))?;
    let expr = SESSION
        .parse_sql_expr(sql, &df_schema)
        .map_err(|e| clean(e.to_string()))?;
    let clock_or_random = expr
        .exists(|e| {
            Ok(matches!(e, Expr::ScalarFunction(f)
                if f.func.signature().volatility != Volatility::Immutable))
        })
        .unwrap_or(true);
    if clock_or_random {
        return Err(format!(
            "{what} uses a volatile function (such as now() or random()); rules must be deterministic"
        ));
    }
    // The logical type is checked first: it gives the clearer message for a mistyped
    // expression; the physical type is what evaluation will really produce.
    expr.get_type(&df_schema)
        .map_err(|e| clean(e.to_string()))?;
    // Some functions exist only logically and are rewritten by the simplifier (COALESCE
    // becomes CASE), as a query's optimizer would do before planning.
    let simplifier = ExprSimplifier::new(
        SimplifyContext::builder()
            .with_schema(Arc::new(df_schema.clone()))
            .build(),
    );
    let expr = simplifier
        .simplify(expr)
        .map_err(|e| clean(e.to_string()))?;
    let physical = SESSION
        .create_physical_expr(expr, &df_schema)
        .map_err(|e| clean(e.to_string()))?;
    let data_type = physical
        .data_type(schema.as_ref())
        .map_err(|e| clean(e.to_string()))?;
    Ok((physical, data_type))
}

/// DataFusion errors carry multi-line backtrace hints; keep the first line.
fn clean(message: String) -> String {
    message
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_boolean_expressions() {
        for sql in [
            "class = 'oom_kill'",
            "class = 'oom_kill' AND severity IN ('critical', 'high')",
            "message LIKE '%Out of memory%' OR subsystem IS NULL",
            "uptime_seconds > 10 AND seq < 100",
            "NOT (host = 'web1')",
            "lower(message) LIKE '%error%'",
        ] {
            Filter::compile(sql, EventKind::Kernel).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    #[test]
    fn rejects_bad_filters() {
        let cases = [
            ("class", "boolean"),
            ("uptime_seconds + 1", "boolean"),
            ("no_such_column = 'x'", "no_such_column"),
            ("class = ", ""),
            ("random() > 0.5", "volatile"),
            ("ts > now()", "volatile"),
            ("", "empty"),
        ];
        for (sql, needle) in cases {
            let err = Filter::compile(sql, EventKind::Kernel)
                .err()
                .unwrap_or_else(|| panic!("{sql:?} should not compile"));
            assert!(err.contains(needle), "{sql:?}: {err}");
            assert!(!err.contains('\n'));
        }
    }
}
