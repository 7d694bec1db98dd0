//! `text column = 'literal'` (and `<>`) on string views, settled by comparing views.
//!
//! arrow's comparison looks at every row's bytes: `perf` put a quarter of the hourly histogram
//! of `eventsource = 'ecs.amazonaws.com'` at 10M events in it, a `memcmp` for each of the 5M
//! matching rows. [`ViewEq`] first sorts rows out by the first 8 bytes of their views (length
//! and prefix), without a branch per row. Rows whose views start like the text's are
//! candidates, and the candidates from one dictionary-encoded page all carry one and the same
//! view (same buffer and offset), so remembering the last view found equal and unequal leaves
//! few texts to compare. Text of up to 12 bytes lies inside its view and is compared there.
//!
//! [`ViewEqRule`] swaps it into the predicates of `FilterExec`s only, once filter pushdown has
//! run: the Parquet scan keeps the original comparison, which its pruning (statistics, bloom
//! filters, page indexes) understands.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, ByteView, MAX_INLINE_VIEW_LEN, StringViewArray};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::{DataType, FieldRef, Schema};
use arrow::record_batch::RecordBatch;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{Result, ScalarValue, internal_err};
use datafusion::logical_expr::{ColumnarValue, Operator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};

/// `column = needle`, or `column <> needle` when `negated`, for a column of string views.
/// A null row gives null, as SQL's comparison does.
#[derive(Debug, Clone, Eq)]
pub(crate) struct ViewEq {
    column: Arc<dyn PhysicalExpr>,
    needle: String,
    negated: bool,
}

// By hand, as DataFusion's own expressions: deriving them fails on `Arc<dyn PhysicalExpr>`
// (rust-lang/rust#78808).
impl PartialEq for ViewEq {
    fn eq(&self, other: &Self) -> bool {
        self.column.eq(&other.column) && self.needle == other.needle && self.negated == other.negated
    }
}

impl Hash for ViewEq {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.column.hash(state);
        self.needle.hash(state);
        self.negated.hash(state);
    }
}

impl ViewEq {
    fn new(column: Arc<dyn PhysicalExpr>, needle: String, negated: bool) -> ViewEq {
        ViewEq {
            column,
            needle,
            negated,
        }
    }

    fn compare(&self, views: &StringViewArray) -> BooleanArray {
        let equal = equal_rows(views, self.needle.as_bytes());
        let bits = if self.negated { !&equal } else { equal };
        BooleanArray::new(bits, views.nulls().cloned())
    }
}

/// Which rows of `views` hold exactly `needle` (bits of null rows are meaningless).
fn equal_rows(views: &StringViewArray, needle: &[u8]) -> BooleanBuffer {
    let raw = views.views();
    let len = needle.len();
    if len <= MAX_INLINE_VIEW_LEN as usize {
        // Length and bytes are the view's low 4 + `len` bytes; the rest is padding.
        let mut want = [0u8; 16];
        want[..4].copy_from_slice(&(len as u32).to_le_bytes());
        want[4..4 + len].copy_from_slice(needle);
        let want = u128::from_le_bytes(want);
        let mask = u128::MAX >> (8 * (MAX_INLINE_VIEW_LEN as usize - len));
        return BooleanBuffer::collect_bool(raw.len(), |i| raw[i] & mask == want);
    }
    // A longer text's view starts with its length and first 4 bytes: rows whose views start
    // otherwise are unequal, found without a branch (matches are as unpredictable as the data;
    // a branch per row cost more than the comparisons). The rest are candidates.
    let head = len as u64 | u64::from(u32::from_le_bytes([needle[0], needle[1], needle[2], needle[3]])) << 32;
    let mut words: Vec<u64> = raw
        .chunks(64)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0u64, |w, (j, v)| w | (u64::from(*v as u64 == head) << j))
        })
        .collect();
    let buffers = views.data_buffers();
    // Candidates from one dictionary page share one view: remember the last of each outcome.
    // Views of `len` bytes are never 0 (the empty string's view), so 0 means "none yet".
    let (mut last_equal, mut last_unequal) = (0u128, 0u128);
    for (w, word) in words.iter_mut().enumerate() {
        let mut pending = *word;
        while pending != 0 {
            let j = pending.trailing_zeros();
            pending &= pending - 1;
            let view = raw[w * 64 + j as usize];
            let equal = if view == last_equal {
                true
            } else if view == last_unequal {
                false
            } else {
                let b = ByteView::from(view);
                let start = b.offset as usize;
                let equal = buffers
                    .get(b.buffer_index as usize)
                    .and_then(|buf| buf.get(start..start + len))
                    == Some(needle);
                match equal {
                    true => last_equal = view,
                    false => last_unequal = view,
                }
                equal
            };
            if !equal {
                *word &= !(1u64 << j);
            }
        }
    }
    BooleanBuffer::new(arrow::buffer::Buffer::from_vec(words), 0, raw.len())
}

impl fmt::Display for ViewEq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.negated { "!=" } else { "=" };
        write!(f, "{} {op} {} (by view)", self.column, self.needle)
    }
}

impl PhysicalExpr for ViewEq {
    fn data_type(&self, _: &Schema) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn nullable(&self, input: &Schema) -> Result<bool> {
        self.column.nullable(input)
    }

    fn return_field(&self, input: &Schema) -> Result<FieldRef> {
        Ok(Arc::new(arrow::datatypes::Field::new(
            self.to_string(),
            DataType::Boolean,
            self.nullable(input)?,
        )))
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        match self.column.evaluate(batch)? {
            ColumnarValue::Array(a) => match a.as_string_view_opt() {
                Some(views) => Ok(ColumnarValue::Array(Arc::new(self.compare(views)))),
                None => internal_err!("{self}: expected string views, got {}", a.data_type()),
            },
            ColumnarValue::Scalar(s) => match s.try_as_str() {
                Some(text) => Ok(ColumnarValue::Scalar(ScalarValue::Boolean(
                    text.map(|t| (t == self.needle) != self.negated),
                ))),
                None => internal_err!("{self}: expected text, got {}", s.data_type()),
            },
        }
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.column]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn PhysicalExpr>>) -> Result<Arc<dyn PhysicalExpr>> {
        match <[Arc<dyn PhysicalExpr>; 1]>::try_from(children) {
            Ok([column]) => Ok(Arc::new(ViewEq::new(column, self.needle.clone(), self.negated))),
            Err(c) => internal_err!("{self} takes one child, got {}", c.len()),
        }
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.negated { "<>" } else { "=" };
        self.column.fmt_sql(f)?;
        write!(f, " {op} '{}'", self.needle.replace('\'', "''"))
    }
}

/// `predicate` with every `view column = text` (or `<>`, either side) as a [`ViewEq`].
fn rewrite(predicate: Arc<dyn PhysicalExpr>, input: &Schema) -> Result<Transformed<Arc<dyn PhysicalExpr>>> {
    predicate.transform_down(|e| {
        let Some(b) = e.downcast_ref::<BinaryExpr>() else {
            return Ok(Transformed::no(e));
        };
        let negated = match b.op() {
            Operator::Eq => false,
            Operator::NotEq => true,
            _ => return Ok(Transformed::no(e)),
        };
        let sides = [(b.left(), b.right()), (b.right(), b.left())];
        for (column, literal) in sides {
            let (Some(_), Some(l)) = (column.downcast_ref::<Column>(), literal.downcast_ref::<Literal>()) else {
                continue;
            };
            if column.data_type(input)? != DataType::Utf8View {
                continue;
            }
            if let Some(Some(text)) = l.value().try_as_str() {
                let swapped = ViewEq::new(Arc::clone(column), text.to_string(), negated);
                return Ok(Transformed::yes(Arc::new(swapped) as Arc<dyn PhysicalExpr>));
            }
        }
        Ok(Transformed::no(e))
    })
}

/// Puts [`ViewEq`] into the predicates of filters (see the module's documentation).
#[derive(Debug, Default)]
pub(crate) struct ViewEqRule;

impl PhysicalOptimizerRule for ViewEqRule {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(filter) = node.downcast_ref::<FilterExec>() else {
                return Ok(Transformed::no(node));
            };
            let predicate = rewrite(Arc::clone(filter.predicate()), filter.input().schema().as_ref())?;
            if !predicate.transformed {
                return Ok(Transformed::no(node));
            }
            let swapped = FilterExecBuilder::from(filter).with_predicate(predicate.data).build()?;
            Ok(Transformed::yes(Arc::new(swapped) as Arc<dyn ExecutionPlan>))
        })
        .data()
    }

    fn name(&self) -> &str {
        "view_eq"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Scalar, UInt32Array};
    use arrow::compute::kernels::cmp;
    use arrow::datatypes::Field;

    /// Long and inline values, nulls, the empty string and near misses, three times over (so
    /// equal text also lies at other places, as in another page).
    fn views() -> StringViewArray {
        let values = [
            Some("ecs.amazonaws.com"),
            Some("ec2.amazonaws.com"),
            None,
            Some("ecs.amazonaws.co"),
            Some("ecs.amazonaws.comm"),
            Some("ecs.amazonaws.con"),
            Some(""),
            Some("short"),
            Some("shorter"),
            Some("twelve bytes"),
            Some("twelve byte"),
        ];
        StringViewArray::from(
            values
                .iter()
                .cycle()
                .take(3 * values.len())
                .copied()
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn equal_rows_agree_with_arrows_comparison() {
        let a = views();
        // Rows sharing views, as a dictionary page is decoded.
        let repeated =
            arrow::compute::take(&a, &UInt32Array::from(vec![0, 0, 3, 1, 0, 3, 2, 0, 7, 7]), None).expect("take");
        for array in [a.clone(), repeated.as_string_view().clone()] {
            for needle in [
                "ecs.amazonaws.com",
                "ecs.amazonaws.co",
                "ec2.amazonaws.com",
                "",
                "short",
                "twelve bytes",
                "twelve byte",
                "nowhere at all, long",
                "absent",
            ] {
                for negated in [false, true] {
                    let ours = ViewEq::new(Arc::new(Column::new("s", 0)), needle.to_string(), negated).compare(&array);
                    let literal = Scalar::new(StringViewArray::from(vec![needle]));
                    let arrows = match negated {
                        false => cmp::eq(&array, &literal),
                        true => cmp::neq(&array, &literal),
                    }
                    .expect("comparable");
                    assert_eq!(ours, arrows, "{needle:?} negated={negated}");
                }
            }
        }
    }

    #[test]
    fn only_text_equality_with_a_constant_is_swapped() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8View, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let s: Arc<dyn PhysicalExpr> = Arc::new(Column::new("s", 0));
        let n: Arc<dyn PhysicalExpr> = Arc::new(Column::new("n", 1));
        let text = |t: &str| -> Arc<dyn PhysicalExpr> { Arc::new(Literal::new(ScalarValue::Utf8View(Some(t.into())))) };
        let num: Arc<dyn PhysicalExpr> = Arc::new(Literal::new(ScalarValue::Int64(Some(3))));
        let both: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
            Arc::new(BinaryExpr::new(text("a"), Operator::NotEq, Arc::clone(&s))),
            Operator::And,
            Arc::new(BinaryExpr::new(Arc::clone(&n), Operator::Eq, num)),
        ));
        let rewritten = rewrite(both, &schema).expect("rewrite");
        assert!(rewritten.transformed);
        assert_eq!(rewritten.data.to_string(), "s@0 != a (by view) AND n@1 = 3");
        let untouched: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(s, Operator::Lt, text("a")));
        assert!(!rewrite(untouched, &schema).expect("rewrite").transformed);
    }
}
