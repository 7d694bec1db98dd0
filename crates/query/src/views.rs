//! Text inside structs read as string views, straight from the Parquet pages.
//!
//! DataFusion asks the Parquet reader for string views (`Utf8View`) only for top-level columns;
//! text inside structs (`useridentity.arn`, `geoip.city_name`, …) was read into plain string
//! arrays, every value copied out of its dictionary page, and then cast to views, copied again.
//! That was most of the time of a `cardinality` of `useridentity.arn` at 10M events. The
//! reader takes its types from the Arrow schema embedded in each file's footer
//! (`ARROW:schema`), so the footer is handed to it with views declared at every level: views
//! then point into the dictionary pages, nothing is copied, nothing is cast.
//!
//! The rewritten footers are kept for the whole process ([`FOOTER_BUDGET`] bytes at most):
//! Delta's data files never change once written, so every table version (a new one after each
//! commit) shares them, and a new version reads only its new files' footers.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::{Arc, LazyLock, Mutex};

use arrow::datatypes::{Field, Schema, SchemaRef};
use bytes::Bytes;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::{DefaultParquetFileReaderFactory, ParquetFileReaderFactory};
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use deltalake::Path;
use futures::FutureExt;
use futures::future::BoxFuture;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::file::metadata::{FileMetaData, KeyValue, PageIndexPolicy, ParquetMetaData, ParquetMetaDataBuilder};

const ARROW_SCHEMA: &str = "ARROW:schema";

/// Memory the kept footers may take.
pub const FOOTER_BUDGET: usize = 256 << 20;

/// A file: its store (`file://`, `s3://bucket`), key and size.
type FileKey = (String, Path, u64);

/// A footer with views declared, and the Arrow schema it declares (`None` for a file without
/// one of its own).
type Footer = (Arc<ParquetMetaData>, Option<SchemaRef>);

/// Footers with views declared, oldest first out once over the budget.
#[derive(Debug)]
struct Footers {
    by_file: HashMap<FileKey, Footer>,
    order: VecDeque<FileKey>,
    bytes: usize,
    budget: usize,
}

impl Footers {
    fn new(budget: usize) -> Self {
        Footers {
            by_file: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            budget,
        }
    }

    fn get(&self, key: &FileKey) -> Option<Footer> {
        self.by_file.get(key).cloned()
    }

    fn insert(&mut self, key: FileKey, footer: Footer) {
        let size = footer.0.memory_size();
        if size > self.budget || self.by_file.contains_key(&key) {
            return;
        }
        while self.bytes + size > self.budget {
            let Some(old) = self.order.pop_front() else { break };
            if let Some(f) = self.by_file.remove(&old) {
                self.bytes -= f.0.memory_size();
            }
        }
        self.bytes += size;
        self.order.push_back(key.clone());
        self.by_file.insert(key, footer);
    }
}

static FOOTERS: LazyLock<Mutex<Footers>> = LazyLock::new(|| Mutex::new(Footers::new(FOOTER_BUDGET)));

/// The Arrow schema (views declared) of a file whose footer is kept, to hand DataFusion with
/// the file: otherwise its reader decodes the schema embedded in the footer again (base64 and
/// flatbuffers) for every file of every query, which was ~12% of a query's fixed cost.
pub(crate) fn kept_schema(store: &str, path: &Path, size: u64) -> Option<SchemaRef> {
    let key = (store.to_string(), path.clone(), size);
    FOOTERS.lock().ok()?.get(&key)?.1
}

/// Readers that hand out footers with views declared, each fetched once while it is kept.
///
/// Footers are fetched and kept with their page indexes. DataFusion asks for footers without
/// them and reads a file's page index itself whenever its filters can use one, unless the
/// footer it is given has it: a time range did that for every file of every query, and
/// parsing those indexes again was 7% of an hourly histogram at 10M events.
#[derive(Debug)]
pub(crate) struct ViewReaderFactory {
    pub(crate) inner: DefaultParquetFileReaderFactory,
    /// The store's URL, part of each file's key.
    pub(crate) store: String,
}

impl ParquetFileReaderFactory for ViewReaderFactory {
    fn create_reader(
        &self,
        partition_index: usize,
        partitioned_file: PartitionedFile,
        metadata_size_hint: Option<usize>,
        metrics: &ExecutionPlanMetricsSet,
    ) -> datafusion::common::Result<Box<dyn AsyncFileReader + Send>> {
        let key = (
            self.store.clone(),
            partitioned_file.object_meta.location.clone(),
            partitioned_file.object_meta.size,
        );
        let inner = self
            .inner
            .create_reader(partition_index, partitioned_file, metadata_size_hint, metrics)?;
        Ok(Box::new(ViewReader { inner, key }))
    }
}

struct ViewReader {
    inner: Box<dyn AsyncFileReader + Send>,
    key: FileKey,
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
            let known = FOOTERS.lock().ok().and_then(|f| f.get(&self.key));
            if let Some((footer, _)) = known {
                return Ok(footer);
            }
            let with_index = options
                .cloned()
                .unwrap_or_default()
                .with_page_index_policy(PageIndexPolicy::Optional);
            let original = self.inner.get_metadata(Some(&with_index)).await?;
            let (footer, schema) = match with_views(&original) {
                Some((f, schema)) => (Arc::new(f), Some(Arc::new(schema))),
                None => (original, None),
            };
            if let Ok(mut f) = FOOTERS.lock() {
                f.insert(self.key.clone(), (Arc::clone(&footer), schema));
            }
            Ok(footer)
        }
        .boxed()
    }
}

/// `footer` with its Arrow schema's text declared as views at every level, and that schema,
/// or `None` when it has no Arrow schema to change. (Rebuilt from its file metadata, row
/// groups and page indexes: all a footer holds without parquet's `encryption` feature, which
/// we do not build.)
fn with_views(footer: &ParquetMetaData) -> Option<(ParquetMetaData, Schema)> {
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
    let footer = ParquetMetaDataBuilder::new(file)
        .set_row_groups(footer.row_groups().to_vec())
        .set_column_index(footer.column_index().cloned())
        .set_offset_index(footer.offset_index().cloned())
        .build();
    Some((footer, viewed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::schema::types::SchemaDescriptor;

    fn footer() -> Arc<ParquetMetaData> {
        let message = parquet::schema::parser::parse_message_type("message t { required int32 a; }")
            .unwrap_or_else(|e| panic!("{e}"));
        let schema = Arc::new(SchemaDescriptor::new(Arc::new(message)));
        Arc::new(ParquetMetaData::new(
            FileMetaData::new(2, 0, None, None, schema, None),
            vec![],
        ))
    }

    fn key(n: u64) -> FileKey {
        ("file://".into(), Path::from(format!("t/{n}.parquet")), n)
    }

    #[test]
    fn the_oldest_footers_go_once_over_the_budget() {
        let size = footer().memory_size();
        let mut kept = Footers::new(3 * size);
        for n in 0..5 {
            kept.insert(key(n), (footer(), None));
        }
        assert!(kept.get(&key(0)).is_none() && kept.get(&key(1)).is_none());
        assert!((2..5).all(|n| kept.get(&key(n)).is_some()));
        assert_eq!(kept.bytes, 3 * size);
        kept.insert(key(4), (footer(), None));
        assert_eq!(kept.order.len(), 3, "a footer kept already is not counted twice");
    }

    /// The schema handed to DataFusion with a file is the one its reader derives from the
    /// rewritten footer: views at every level, nothing else changed.
    #[test]
    fn the_kept_schema_is_the_one_the_rewritten_footer_declares() {
        use arrow::array::{ArrayRef, Int64Array, StringArray, StructArray};
        use arrow::datatypes::DataType;
        use parquet::arrow::ArrowWriter;
        use parquet::arrow::arrow_reader::ArrowReaderMetadata;
        use parquet::file::reader::FileReader;

        let inner = Arc::new(StringArray::from(vec![Some("arn:aws:iam::1:user/a"), None])) as ArrayRef;
        let user = StructArray::from(vec![(Arc::new(Field::new("arn", DataType::Utf8, true)), inner)]);
        let batch = arrow::record_batch::RecordBatch::try_from_iter(vec![
            (
                "eventname",
                Arc::new(StringArray::from(vec!["RunTask", "StopTask"])) as ArrayRef,
            ),
            ("useridentity", Arc::new(user) as ArrayRef),
            ("sourceindex", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let mut file = Vec::new();
        let mut w = ArrowWriter::try_new(&mut file, batch.schema(), None).unwrap_or_else(|e| panic!("{e}"));
        w.write(&batch).unwrap_or_else(|e| panic!("{e}"));
        w.close().unwrap_or_else(|e| panic!("{e}"));
        let reader = parquet::file::serialized_reader::SerializedFileReader::new(Bytes::from(file))
            .unwrap_or_else(|e| panic!("{e}"));

        let (footer, schema) = with_views(reader.metadata()).unwrap_or_else(|| panic!("the file has an Arrow schema"));
        let derived =
            ArrowReaderMetadata::try_new(Arc::new(footer), ArrowReaderOptions::new()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(derived.schema().as_ref(), &schema);
        let arn = schema
            .field_with_name("useridentity")
            .map(|f| f.data_type().clone())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            arn,
            DataType::Struct(vec![Field::new("arn", DataType::Utf8View, true)].into())
        );
        assert_eq!(schema.field(0).data_type(), &DataType::Utf8View);
        assert_eq!(schema.field(2).data_type(), &DataType::Int64);
    }
}
