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

    /// Whether a file of `day` can hold rows passing `filters` (judged on `eventdate` bounds).
    fn day_may_match(day: i32, filters: &[Expr]) -> bool {
        filters.iter().all(|f| day_passes(day, f))
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
        // Files are pruned and row groups skipped with the filters, but DataFusion still
        // applies them to the rows.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
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
        if let Some(predicate) = filters.iter().cloned().reduce(Expr::and) {
            let df_schema = datafusion::common::DFSchema::try_from(self.table_schema.as_ref().clone())?;
            source = source.with_predicate(state.create_physical_expr(predicate, &df_schema)?);
        }
        let partitions = state.config_options().execution.target_partitions.max(1);
        let mut groups: Vec<Vec<PartitionedFile>> = vec![Vec::new(); partitions];
        let kept = self.files.iter().filter(|f| LakeFiles::day_may_match(f.day, filters));
        for (i, f) in kept.enumerate() {
            groups[i % partitions].push(
                PartitionedFile::from(deltalake::ObjectMeta {
                    location: f.path.clone(),
                    last_modified: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                    size: f.size,
                    e_tag: None,
                    version: None,
                })
                .with_partition_values(vec![ScalarValue::Date32(Some(f.day))]),
            );
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
