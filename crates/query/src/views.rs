//! Text inside structs read as string views, straight from the Parquet pages.
//!
//! DataFusion asks the Parquet reader for string views (`Utf8View`) only for top-level columns;
//! text inside structs (`useridentity.arn`, `geoip.city_name`, …) was read into plain string
//! arrays, every value copied out of its dictionary page, and then cast to views, copied again.
//! That was most of the time of a `cardinality` of `useridentity.arn` at 10M events. The
//! reader takes its types from the Arrow schema embedded in each file's footer
//! (`ARROW:schema`), so the footer is handed to it with views declared at every level: views
//! then point into the dictionary pages, nothing is copied, nothing is cast.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use arrow::datatypes::{Field, Schema};
use bytes::Bytes;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::{DefaultParquetFileReaderFactory, ParquetFileReaderFactory};
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use deltalake::Path;
use futures::FutureExt;
use futures::future::BoxFuture;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::file::metadata::{FileMetaData, KeyValue, ParquetMetaData, ParquetMetaDataBuilder};

const ARROW_SCHEMA: &str = "ARROW:schema";

/// Footers with views declared, per file of one table version.
pub(crate) type Footers = Arc<Mutex<HashMap<Path, Arc<ParquetMetaData>>>>;

/// Readers that hand out footers with views declared, each read once per table version (the
/// footers map is also the cache of footers and page indexes).
#[derive(Debug)]
pub(crate) struct ViewReaderFactory {
    pub(crate) inner: DefaultParquetFileReaderFactory,
    pub(crate) footers: Footers,
}

impl ParquetFileReaderFactory for ViewReaderFactory {
    fn create_reader(
        &self,
        partition_index: usize,
        partitioned_file: PartitionedFile,
        metadata_size_hint: Option<usize>,
        metrics: &ExecutionPlanMetricsSet,
    ) -> datafusion::common::Result<Box<dyn AsyncFileReader + Send>> {
        let path = partitioned_file.object_meta.location.clone();
        let inner = self
            .inner
            .create_reader(partition_index, partitioned_file, metadata_size_hint, metrics)?;
        Ok(Box::new(ViewReader {
            inner,
            path,
            footers: Arc::clone(&self.footers),
        }))
    }
}

struct ViewReader {
    inner: Box<dyn AsyncFileReader + Send>,
    path: Path,
    footers: Footers,
}

impl AsyncFileReader for ViewReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        self.inner.get_bytes(range)
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        self.inner.get_byte_ranges(ranges)
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let known = self.footers.lock().ok().and_then(|f| f.get(&self.path).cloned());
            if let Some(footer) = known {
                return Ok(footer);
            }
            let original = self.inner.get_metadata(options).await?;
            let footer = match with_views(&original) {
                Some(f) => Arc::new(f),
                None => original,
            };
            if let Ok(mut f) = self.footers.lock() {
                f.insert(self.path.clone(), Arc::clone(&footer));
            }
            Ok(footer)
        }
        .boxed()
    }
}

/// `footer` with its Arrow schema's text declared as views at every level, or `None` when
/// it has no Arrow schema to change.
fn with_views(footer: &ParquetMetaData) -> Option<ParquetMetaData> {
    let file = footer.file_metadata();
    let pairs = file.key_value_metadata()?;
    if !pairs.iter().any(|kv| kv.key == ARROW_SCHEMA) {
        return None;
    }
    let schema = parquet::arrow::parquet_to_arrow_schema(file.schema_descr(), Some(pairs)).ok()?;
    let viewed = Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .map(|f| crate::scan::view_field(f))
            .collect::<Vec<Field>>(),
        schema.metadata().clone(),
    );
    let encoded = parquet::arrow::encode_arrow_schema(&viewed);
    let pairs = pairs
        .iter()
        .map(|kv| match kv.key.as_str() {
            ARROW_SCHEMA => KeyValue::new(ARROW_SCHEMA.to_string(), encoded.clone()),
            _ => kv.clone(),
        })
        .collect();
    let file = FileMetaData::new(
        file.version(),
        file.num_rows(),
        file.created_by().map(str::to_string),
        Some(pairs),
        file.schema_descr_ptr(),
        file.column_orders().cloned(),
    );
    Some(
        ParquetMetaDataBuilder::new(file)
            .set_row_groups(footer.row_groups().to_vec())
            .set_column_index(footer.column_index().cloned())
            .set_offset_index(footer.offset_index().cloned())
            .build(),
    )
}
