//! A scan of the table's current files with DataFusion's own Parquet reader.
//!
//! The Delta log says which files make up the version (and each file's `eventdate`); reading them
//! is left to DataFusion's `DataSourceExec`, which resolves struct field access
//! (`useridentity['arn']`) to single Parquet leaves. delta-rs's scan projects whole root columns,
//! so a query for one field of `useridentity` or `geoip` decoded all of its leaves.
//!
//! Files are read through the table's own object store (the local file system, or the S3 bucket
//! the table lives in), registered with the session under its scheme and bucket. Our tables use
//! no deletion vectors or column mapping, which this scan would not honour.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::object_store::ObjectStoreUrl;
use datafusion::datasource::physical_plan::parquet::DefaultParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::logical_expr::{Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use deltalake::ObjectStore;
use trailscope_cloudtrail::schema;

/// One data file of the version.
#[derive(Debug, Clone)]
struct DataFile {
    /// The key in the store (for a local table, the absolute path without its leading `/`).
    path: deltalake::Path,
    size: u64,
    day: i32,
}

#[derive(Debug)]
pub struct LakeFiles {
    /// The store's URL as DataFusion knows it (`file://`, `s3://bucket`), and the store.
    store_url: ObjectStoreUrl,
    store: Arc<dyn ObjectStore>,
    table_schema: SchemaRef,
    file_schema: SchemaRef,
    partition: FieldRef,
    files: Vec<DataFile>,
}

/// Text as DataFusion's Parquet reader produces it (views), so no casts are planned.
fn view_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 => DataType::Utf8View,
        DataType::Struct(fields) => {
            DataType::Struct(Fields::from(fields.iter().map(|f| view_field(f)).collect::<Vec<_>>()))
        }
        DataType::List(item) => DataType::List(Arc::new(view_field(item))),
        other => other.clone(),
    }
}

pub(crate) fn view_field(f: &Field) -> Field {
    f.clone().with_data_type(view_type(f.data_type()))
}

impl LakeFiles {
    /// The files of `lake`'s current version, or `None` when they cannot be listed this way.
    pub fn open(lake: &trailscope_lake::Lake) -> Option<LakeFiles> {
        let root = lake.table().table_url();
        let store_url = ObjectStoreUrl::parse(format!("{}://{}", root.scheme(), root.host_str().unwrap_or(""))).ok()?;
        let prefix = deltalake::Path::from_url_path(root.path()).ok()?;
        let store = lake.table().log_store().root_object_store(None);
        let snapshot = lake.table().snapshot().ok()?;
        let mut files = Vec::new();
        for f in snapshot.log_data() {
            let day = trailscope_lake::partition_day(&f.partition_values_map())?;
            // Parts joined as they are: a string would be percent-encoded once more.
            let relative = deltalake::Path::parse(f.path()).ok()?;
            files.push(DataFile {
                path: prefix.parts().chain(relative.parts()).collect(),
                size: u64::try_from(f.size()).ok()?,
                day,
            });
        }
        let table = schema::table_schema();
        let fields: Vec<Field> = table.fields().iter().map(|f| view_field(f)).collect();
        let (file_fields, partition): (Vec<Field>, Vec<Field>) =
            fields.into_iter().partition(|f| f.name() != schema::EVENT_DATE);
        let partition = Arc::new(partition.into_iter().next()?);
        let file_schema = Arc::new(Schema::new(file_fields.clone()));
        let mut all = file_fields;
        all.push(partition.as_ref().clone());
        Some(LakeFiles {
            store_url,
            store,
            table_schema: Arc::new(Schema::new(all)),
            file_schema,
            partition,
            files,
        })
    }

    /// Makes the table's store reachable by the session's scans.
    pub fn register_store(&self, ctx: &datafusion::prelude::SessionContext) {
        ctx.register_object_store(self.store_url.as_ref(), Arc::clone(&self.store));
    }

    /// Whether `filters` should be applied while the Parquet pages are decoded ("late
    /// materialization") rather than to decoded batches.
    ///
    /// Decoding first the filter's columns and then the rest for the matching rows pays when the
    /// rest is text, structs or lists: Discover's newest hits read event ids and rendered events
    /// for a few rows. When every other column read is fixed-width (a histogram's `eventtime`,
    /// or none for a count), turning the filter's result into row selections and reading the
    /// column through them cost more than reading it whole: an hourly histogram of the ECS
    /// events at 10M took 250 ms with the filter in the decoder and 150 ms without.
    fn filter_while_decoding(&self, projection: Option<&Vec<usize>>, filters: &[Expr]) -> bool {
        if filters.is_empty() {
            return false;
        }
        let filtered: std::collections::HashSet<&str> = filters
            .iter()
            .flat_map(|f| f.column_refs())
            .map(|c| c.name.as_str())
            .collect();
        let all: Vec<usize> = (0..self.table_schema.fields().len()).collect();
        projection
            .unwrap_or(&all)
            .iter()
            .filter_map(|&i| self.table_schema.fields().get(i))
            .filter(|f| !filtered.contains(f.name().as_str()))
            .any(|f| !f.data_type().is_primitive() && !matches!(f.data_type(), DataType::Boolean))
    }

    /// Whether a file of `day` can hold rows passing `filters` (judged on `eventdate` bounds).
    fn day_may_match(day: i32, filters: &[Expr]) -> bool {
        filters.iter().all(|f| day_passes(day, f))
    }
}

/// Whether [`day_passes`] judges `f` exactly: only `eventdate` compared with dates.
fn decides_days(f: &Expr) -> bool {
    let is_day = |e: &Expr| matches!(e, Expr::Column(c) if c.name == schema::EVENT_DATE);
    let is_date = |e: &Expr| matches!(e, Expr::Literal(ScalarValue::Date32(Some(_)), _));
    match f {
        Expr::BinaryExpr(b) if b.op == Operator::And => decides_days(&b.left) && decides_days(&b.right),
        Expr::BinaryExpr(b) => {
            matches!(
                b.op,
                Operator::Eq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq
            ) && ((is_day(&b.left) && is_date(&b.right)) || (is_date(&b.left) && is_day(&b.right)))
        }
        Expr::InList(l) => !l.negated && is_day(&l.expr) && l.list.iter().all(is_date),
        _ => false,
    }
}

/// `false` only when `f` provably rejects every row of `day`.
fn day_passes(day: i32, f: &Expr) -> bool {
    match f {
        Expr::BinaryExpr(b) if b.op == Operator::And => day_passes(day, &b.left) && day_passes(day, &b.right),
        Expr::BinaryExpr(b) => {
            let (col, value, op) = match (b.left.as_ref(), b.right.as_ref()) {
                (Expr::Column(c), Expr::Literal(ScalarValue::Date32(Some(v)), _)) => (c, *v, b.op),
                (Expr::Literal(ScalarValue::Date32(Some(v)), _), Expr::Column(c)) => match b.op.swap() {
                    Some(op) => (c, *v, op),
                    None => return true,
                },
                _ => return true,
            };
            if col.name != schema::EVENT_DATE {
                return true;
            }
            match op {
                Operator::Eq => day == value,
                Operator::Lt => day < value,
                Operator::LtEq => day <= value,
                Operator::Gt => day > value,
                Operator::GtEq => day >= value,
                _ => true,
            }
        }
        Expr::InList(l) if !l.negated => match l.expr.as_ref() {
            Expr::Column(c) if c.name == schema::EVENT_DATE => l.list.iter().any(|v| match v {
                Expr::Literal(ScalarValue::Date32(Some(x)), _) => *x == day,
                _ => true,
            }),
            _ => true,
        },
        _ => true,
    }
}

#[async_trait::async_trait]
impl TableProvider for LakeFiles {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.table_schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        // A file holds one day, so a bound on `eventdate` alone is decided whole by choosing
        // files. Other filters prune files and row groups, and DataFusion still applies them
        // to the rows.
        Ok(filters
            .iter()
            .map(|f| match decides_days(f) {
                true => TableProviderFilterPushDown::Exact,
                false => TableProviderFilterPushDown::Inexact,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let parquet = state.config_options().execution.parquet.clone();
        let mut source = ParquetSource::new(
            TableSchema::builder(Arc::clone(&self.file_schema))
                .with_table_partition_cols(vec![Arc::clone(&self.partition)])
                .build(),
        )
        .with_table_parquet_options(datafusion::config::TableParquetOptions {
            global: parquet,
            ..Default::default()
        });
        // Footers are kept (with text as views, see views.rs): without that every query re-read
        // them from every file, which was most of the time of a query that bloom filters and
        // statistics answer.
        source = source.with_parquet_file_reader_factory(Arc::new(crate::views::ViewReaderFactory {
            inner: DefaultParquetFileReaderFactory::new(Arc::clone(&self.store)),
            store: self.store_url.as_str().to_string(),
        }));
        // The filters themselves reach the scan through DataFusion's physical filter pushdown
        // (they stay in a filter above it, `Inexact`): passing them here too made every
        // conjunct a row filter twice. Only whether rows are filtered while decoding is ours.
        source = source.with_pushdown_filters(self.filter_while_decoding(projection, filters));
        let partitions = state.config_options().execution.target_partitions.max(1);
        let mut groups: Vec<Vec<PartitionedFile>> = vec![Vec::new(); partitions];
        let kept = self.files.iter().filter(|f| LakeFiles::day_may_match(f.day, filters));
        for (i, f) in kept.enumerate() {
            let mut file = PartitionedFile::from(deltalake::ObjectMeta {
                location: f.path.clone(),
                last_modified: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                size: f.size,
                e_tag: None,
                version: None,
            })
            .with_partition_values(vec![ScalarValue::Date32(Some(f.day))]);
            if let Some(schema) = crate::views::kept_schema(self.store_url.as_str(), &f.path, f.size) {
                file = file.with_arrow_schema(schema);
            }
            groups[i % partitions].push(file);
        }
        let groups: Vec<FileGroup> = groups
            .into_iter()
            .filter(|g| !g.is_empty())
            .map(FileGroup::from)
            .collect();
        if groups.is_empty() {
            // No file can match (a range beyond the data). A scan with zero partitions trips
            // DataFusion's plan checks under a sort ("does not satisfy distribution
            // requirements: SinglePartition"), so answer with an empty one-partition input.
            let schema = match projection {
                Some(p) => Arc::new(self.table_schema.project(p)?),
                None => Arc::clone(&self.table_schema),
            };
            return Ok(Arc::new(datafusion::physical_plan::empty::EmptyExec::new(schema)));
        }
        let config = FileScanConfigBuilder::new(self.store_url.clone(), Arc::new(source))
            .with_file_groups(groups)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    /// Which days a filter keeps.
    type Judge = fn(i32) -> bool;

    fn date(d: i32) -> Expr {
        lit(ScalarValue::Date32(Some(d)))
    }

    #[test]
    fn bounds_on_the_day_alone_are_decided_by_choosing_files() {
        let day = || col(schema::EVENT_DATE);
        let exact: Vec<(Expr, Judge)> = vec![
            (day().gt_eq(date(10)), |d| d >= 10),
            (day().lt(date(12)), |d| d < 12),
            (date(12).gt(day()), |d| d < 12),
            (day().eq(date(11)), |d| d == 11),
            (day().gt(date(9)).and(day().lt_eq(date(11))), |d| d > 9 && d <= 11),
            (day().in_list(vec![date(8), date(12)], false), |d| d == 8 || d == 12),
        ];
        for (f, expected) in &exact {
            assert!(decides_days(f), "{f}");
            for d in 5..15 {
                assert_eq!(day_passes(d, f), expected(d), "{f} on day {d}");
            }
        }
        let partly = [
            day().not_eq(date(10)),
            day().gt_eq(date(10)).or(day().lt(date(3))),
            day().in_list(vec![date(8)], true),
            day().gt_eq(date(10)).and(col("eventname").eq(lit("RunTask"))),
            col("eventname").eq(lit("RunTask")),
        ];
        for f in &partly {
            assert!(!decides_days(f), "{f} is applied to the rows too");
        }
    }
}
