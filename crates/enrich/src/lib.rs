//! Enrichment of parsed CloudTrail batches: GeoIP (city and ASN) of `sourceipaddress`.
//!
//! Pure over record batches: [`Enricher::enrich`] takes a batch in
//! [`trailscope_cloudtrail::schema::parsed_schema`] and returns it in
//! [`trailscope_cloudtrail::schema::table_schema`], adding the `geoip` struct (Logstash's geoip
//! field names) and the `tags` list (`cloudtrail-geoip` when a location was found).

mod geoip;

pub use geoip::{GeoIp, GeoIpError, GeoRecord, Layout, lookup_candidate};

use std::sync::Arc;

use arrow::array::NullBufferBuilder;
use arrow::array::{Array, ArrayRef, AsArray, Float64Builder, Int64Builder, ListBuilder, StringBuilder, StructArray};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use trailscope_cloudtrail::schema;

/// Adds enrichment columns to parsed batches. Clone one per worker thread.
#[derive(Default, Clone)]
pub struct Enricher {
    geoip: Option<GeoIp>,
}

impl std::fmt::Debug for Enricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enricher")
            .field("geoip", &self.geoip.as_ref().map(GeoIp::describe))
            .finish()
    }
}

impl Enricher {
    pub fn new(geoip: Option<GeoIp>) -> Self {
        Self { geoip }
    }

    pub fn geoip(&self) -> Option<&GeoIp> {
        self.geoip.as_ref()
    }

    /// Returns `batch` (parsed schema) with `geoip` and `tags` added (table schema).
    pub fn enrich(&mut self, batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
        let parsed = schema::parsed_schema();
        if batch.schema().fields() != parsed.fields() {
            return Err(ArrowError::SchemaError(
                "enrich expects a batch in the parsed CloudTrail schema".into(),
            ));
        }
        let ips = batch
            .column_by_name(schema::SOURCE_IP)
            .ok_or_else(|| ArrowError::SchemaError("missing sourceipaddress".into()))?
            .as_string::<i32>();
        let (geo, tags) = self.geo_columns(ips)?;
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        let date = columns.pop();
        columns.push(Arc::new(geo));
        columns.push(Arc::new(tags));
        columns.extend(date);
        RecordBatch::try_new(schema::table_schema(), columns)
    }

    fn geo_columns(
        &mut self,
        ips: &arrow::array::StringArray,
    ) -> Result<(StructArray, arrow::array::ListArray), ArrowError> {
        let n = ips.len();
        let mut cols = GeoCols::new(n);
        let mut tags = ListBuilder::new(StringBuilder::new()).with_field(schema::tags_item());
        for i in 0..n {
            let rec = match (&mut self.geoip, ips.is_valid(i)) {
                (Some(db), true) => db.lookup_cached(ips.value(i)),
                _ => None,
            };
            match rec {
                Some(rec) => {
                    cols.push(ips.value(i), &rec);
                    tags.values().append_value(schema::GEOIP_TAG);
                    tags.append(true);
                }
                None => {
                    cols.push_null();
                    tags.append_null();
                }
            }
        }
        Ok((cols.finish()?, tags.finish()))
    }
}

struct GeoCols {
    valid: NullBufferBuilder,
    strings: Vec<StringBuilder>,
    lat: Float64Builder,
    lon: Float64Builder,
    loc_valid: NullBufferBuilder,
    loc_lat: Float64Builder,
    loc_lon: Float64Builder,
    asn: Int64Builder,
    as_org: StringBuilder,
}

/// `ip` … `timezone`: the string fields before `latitude` in [`schema::geoip_fields`].
const GEO_STRINGS: usize = 10;

impl GeoCols {
    fn new(n: usize) -> Self {
        Self {
            valid: NullBufferBuilder::new(n),
            strings: (0..GEO_STRINGS)
                .map(|_| StringBuilder::with_capacity(n, n * 8))
                .collect(),
            lat: Float64Builder::with_capacity(n),
            lon: Float64Builder::with_capacity(n),
            loc_valid: NullBufferBuilder::new(n),
            loc_lat: Float64Builder::with_capacity(n),
            loc_lon: Float64Builder::with_capacity(n),
            asn: Int64Builder::with_capacity(n),
            as_org: StringBuilder::new(),
        }
    }

    fn push(&mut self, ip: &str, r: &GeoRecord) {
        self.valid.append_non_null();
        let values: [Option<&str>; GEO_STRINGS] = [
            Some(ip),
            r.city_name.as_deref(),
            r.region_name.as_deref(),
            r.region_code.as_deref(),
            r.country_name.as_deref(),
            r.country_code.as_deref(),
            r.country_code.as_deref(),
            r.continent_code.as_deref(),
            r.postal_code.as_deref(),
            r.timezone.as_deref(),
        ];
        for (b, v) in self.strings.iter_mut().zip(values) {
            b.append_option(v);
        }
        self.lat.append_option(r.latitude);
        self.lon.append_option(r.longitude);
        match (r.latitude, r.longitude) {
            (Some(lat), Some(lon)) => {
                self.loc_valid.append_non_null();
                self.loc_lat.append_value(lat);
                self.loc_lon.append_value(lon);
            }
            _ => {
                self.loc_valid.append_null();
                self.loc_lat.append_null();
                self.loc_lon.append_null();
            }
        }
        self.asn.append_option(r.asn);
        self.as_org.append_option(r.as_org.as_deref());
    }

    fn push_null(&mut self) {
        self.valid.append_null();
        for b in &mut self.strings {
            b.append_null();
        }
        self.lat.append_null();
        self.lon.append_null();
        self.loc_valid.append_null();
        self.loc_lat.append_null();
        self.loc_lon.append_null();
        self.asn.append_null();
        self.as_org.append_null();
    }

    fn finish(mut self) -> Result<StructArray, ArrowError> {
        let mut arrays: Vec<ArrayRef> = self
            .strings
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        arrays.push(Arc::new(self.lat.finish()));
        arrays.push(Arc::new(self.lon.finish()));
        arrays.push(Arc::new(StructArray::try_new(
            schema::location_fields(),
            vec![Arc::new(self.loc_lat.finish()), Arc::new(self.loc_lon.finish())],
            self.loc_valid.finish(),
        )?));
        arrays.push(Arc::new(self.asn.finish()));
        arrays.push(Arc::new(self.as_org.finish()));
        StructArray::try_new(schema::geoip_fields(), arrays, self.valid.finish())
    }
}
