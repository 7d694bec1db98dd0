//! Scalar functions the compiled queries call: values inside JSON text, fields of a list of
//! structs, CIDR membership and map-tile keys. Each is a plain function of its row.

use std::net::IpAddr;
use std::sync::{Arc, LazyLock};

use arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder, Float64Array, ListArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Float64Type, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use datafusion::prelude::{Expr, SessionContext, lit};

use crate::needle::Needle;

/// Registers the functions with a session (needed for SQL users and for plans built as text).
pub fn register(ctx: &SessionContext) {
    for f in [
        &*JSON_GET,
        &*LIST_FIELD,
        &*CIDR_MATCH,
        &*GEOTILE,
        &*GEOHASH,
        &*TEXT_CONTAINS,
        &*BUCKET_START,
    ] {
        ctx.register_udf(f.as_ref().clone());
    }
}

macro_rules! udf {
    ($static:ident, $ty:ident, $name:literal, $args:expr, $ret:expr, $body:ident) => {
        #[derive(Debug, PartialEq, Eq, Hash)]
        struct $ty {
            signature: Signature,
        }
        impl ScalarUDFImpl for $ty {
            fn name(&self) -> &str {
                $name
            }
            fn signature(&self) -> &Signature {
                &self.signature
            }
            fn return_type(&self, args: &[DataType]) -> Result<DataType> {
                #[allow(clippy::redundant_closure_call)]
                Ok(($ret)(args))
            }
            fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
                $body(args)
            }
        }
        static $static: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
            Arc::new(ScalarUDF::from($ty {
                signature: Signature::any($args, Volatility::Immutable),
            }))
        });
    };
}

udf!(
    JSON_GET,
    JsonGet,
    "trailscope_json_get",
    2,
    |_: &[DataType]| DataType::Utf8,
    json_get_impl
);
udf!(
    LIST_FIELD,
    ListField,
    "trailscope_list_field",
    2,
    |_: &[DataType]| DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
    list_field_impl
);
udf!(
    CIDR_MATCH,
    CidrMatch,
    "trailscope_cidr_match",
    2,
    |_: &[DataType]| DataType::Boolean,
    cidr_match_impl
);
udf!(
    GEOTILE,
    GeoTile,
    "trailscope_geotile",
    3,
    |_: &[DataType]| DataType::Int64,
    geotile_impl
);
udf!(
    GEOHASH,
    GeoHash,
    "trailscope_geohash",
    3,
    |_: &[DataType]| DataType::Utf8,
    geohash_impl
);

udf!(
    BUCKET_START,
    BucketStart,
    "trailscope_bucket_start",
    3,
    |_: &[DataType]| DataType::Int64,
    bucket_start_impl
);

#[derive(Debug, PartialEq, Eq, Hash)]
struct TextContains {
    signature: Signature,
}

impl ScalarUDFImpl for TextContains {
    fn name(&self) -> &str {
        "trailscope_text_contains"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        text_contains_impl(args)
    }
}

static TEXT_CONTAINS: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
    Arc::new(ScalarUDF::from(TextContains {
        signature: Signature::variadic_any(Volatility::Immutable),
    }))
});

fn text_contains_impl(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    let text = scalar_text(&args.args[0], "the text to find")?;
    let needle = Needle::new(&text).map_err(|e| DataFusionError::Plan(format!("cannot search for '{text}': {e}")))?;
    let rows = args.number_rows;
    let mut hit = vec![false; rows];
    for column in &args.args[1..] {
        needle.mark(column.to_array(rows)?.as_ref(), &mut hit)?;
    }
    Ok(ColumnarValue::Array(Arc::new(arrow::array::BooleanArray::from(hit))))
}

/// Whether any of `columns` (text, or lists of text) contains `needle`, ignoring ASCII case.
/// One pass over each column's bytes instead of a case-insensitive LIKE per value ([`Needle`]).
pub fn text_contains(needle: &str, columns: Vec<Expr>) -> Expr {
    let mut args = vec![lit(needle.to_string())];
    args.extend(columns);
    TEXT_CONTAINS.call(args)
}

/// The start, in microseconds since the epoch, of the `width`-microsecond bucket holding each
/// instant of `time`, buckets starting where `time + offset` is a multiple of `width` (a fixed
/// interval's buckets start at multiples of it in local time, `offset` being the zone's offset).
pub fn bucket_start(time: Expr, width: i64, offset: i64) -> Expr {
    BUCKET_START.call(vec![time, lit(width), lit(offset)])
}

/// The value at `path` (dot-separated keys) in the JSON text `expr`: strings as themselves,
/// other scalars as their JSON text, objects and arrays as JSON text. Arrays on the way are
/// searched element by element; the first value found wins.
pub fn json_get(expr: Expr, path: &str) -> Expr {
    JSON_GET.call(vec![expr, lit(path.to_string())])
}

/// The `name` field of each struct in a list of structs, as a list of text.
pub fn list_field(expr: Expr, name: &str) -> Expr {
    LIST_FIELD.call(vec![expr, lit(name.to_string())])
}

/// Whether the IP text in `expr` lies in the block `cidr` (`203.0.113.0/24`, `2001:db8::/32`).
pub fn cidr_match(expr: Expr, cidr: &str) -> Expr {
    CIDR_MATCH.call(vec![expr, lit(cidr.to_string())])
}

/// The web-map tile holding each point, packed by [`pack_tile`] (as Elasticsearch's geotile_grid).
pub fn geotile(lat: Expr, lon: Expr, zoom: u8) -> Expr {
    GEOTILE.call(vec![lat, lon, lit(i64::from(zoom))])
}

/// The geohash of each point at `precision` characters (as Elasticsearch's geohash_grid).
pub fn geohash(lat: Expr, lon: Expr, precision: u8) -> Expr {
    GEOHASH.call(vec![lat, lon, lit(i64::from(precision))])
}

fn scalar_text(v: &ColumnarValue, what: &str) -> Result<String> {
    match v {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)),
        ) => Ok(s.clone()),
        _ => Err(DataFusionError::Plan(format!("{what} must be a text constant"))),
    }
}

fn scalar_int(v: &ColumnarValue, what: &str) -> Result<i64> {
    match v {
        ColumnarValue::Scalar(ScalarValue::Int64(Some(n))) => Ok(*n),
        _ => Err(DataFusionError::Plan(format!("{what} must be an integer constant"))),
    }
}

fn rows(args: &ScalarFunctionArgs) -> Result<ArrayRef> {
    let first = args
        .args
        .first()
        .ok_or_else(|| DataFusionError::Plan("missing argument".into()))?;
    first.to_array(args.number_rows)
}

fn json_get_impl(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    let path = scalar_text(&args.args[1], "the JSON path")?;
    let keys: Vec<&str> = path.split('.').collect();
    let input = rows(&args)?;
    let texts = trailscope_cloudtrail::template::to_text(input.as_ref())?;
    let mut out = StringBuilder::new();
    for i in 0..texts.len() {
        let found = if texts.is_null(i) {
            None
        } else {
            serde_json::from_str::<serde_json::Value>(texts.value(i))
                .ok()
                .and_then(|v| find_path(&v, &keys).map(value_text))
        };
        out.append_option(found);
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

/// Depth-first search for `keys` below `v`; arrays are transparent, as in Elasticsearch's
/// flattening of object arrays. Keys match exactly, or else ignoring ASCII case.
fn find_path<'a>(v: &'a serde_json::Value, keys: &[&str]) -> Option<&'a serde_json::Value> {
    let Some((key, rest)) = keys.split_first() else {
        return Some(v);
    };
    match v {
        serde_json::Value::Object(map) => {
            let child = map
                .get(*key)
                .or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))?;
            find_path(child, rest)
        }
        serde_json::Value::Array(items) => items.iter().find_map(|item| find_path(item, keys)),
        _ => None,
    }
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) if items.len() == 1 => value_text(&items[0]),
        other => other.to_string(),
    }
}

fn list_field_impl(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    let name = scalar_text(&args.args[1], "the field name")?;
    let input = rows(&args)?;
    let list = input
        .as_list_opt::<i32>()
        .ok_or_else(|| DataFusionError::Plan("trailscope_list_field takes a list of structs".into()))?;
    let structs = list
        .values()
        .as_struct_opt()
        .ok_or_else(|| DataFusionError::Plan("trailscope_list_field takes a list of structs".into()))?;
    let child = structs
        .column_by_name(&name)
        .ok_or_else(|| DataFusionError::Plan(format!("the list's structs have no field '{name}'")))?;
    let child = arrow::compute::cast(child, &DataType::Utf8)?;
    let out = ListArray::try_new(
        Arc::new(Field::new("item", DataType::Utf8, true)),
        list.offsets().clone(),
        child,
        list.nulls().cloned(),
    )?;
    Ok(ColumnarValue::Array(Arc::new(out)))
}

/// [`bucket_start`] in one pass over the times: the same key as the arithmetic on casts it
/// replaces, without an array per step (a histogram's key is computed for every event).
fn bucket_start_impl(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    let width = scalar_int(&args.args[1], "the bucket width")?;
    let offset = scalar_int(&args.args[2], "the bucket offset")?;
    if width <= 0 {
        return Err(DataFusionError::Execution(format!(
            "a bucket width must be positive, not {width}"
        )));
    }
    let input = rows(&args)?;
    let input = match input.data_type() {
        DataType::Int64 | DataType::Timestamp(TimeUnit::Microsecond, _) => input,
        // As DataFusion's own cast: a value that cannot be converted is an error, not a null.
        _ => arrow::compute::cast_with_options(
            &input,
            &DataType::Timestamp(TimeUnit::Microsecond, None),
            &arrow::compute::CastOptions {
                safe: false,
                ..Default::default()
            },
        )?,
    };
    let micros = match input.as_primitive_opt::<arrow::datatypes::Int64Type>() {
        Some(n) => n.clone(),
        None => input
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
            .reinterpret_cast::<arrow::datatypes::Int64Type>(),
    };
    let out: arrow::array::Int64Array = micros.unary(|us| us.wrapping_sub(us.wrapping_add(offset).rem_euclid(width)));
    Ok(ColumnarValue::Array(Arc::new(out)))
}

/// A parsed CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` or `v6/n`; a plain address is a block of one.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let network: IpAddr = addr.trim().parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

fn cidr_match_impl(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    let text = scalar_text(&args.args[1], "the CIDR block")?;
    let cidr = Cidr::parse(&text)
        .ok_or_else(|| DataFusionError::Plan(format!("'{text}' is not an IP address or CIDR block")))?;
    let input = rows(&args)?;
    let texts = trailscope_cloudtrail::template::to_text(input.as_ref())?;
    let mut out = BooleanBuilder::with_capacity(texts.len());
    for i in 0..texts.len() {
        if texts.is_null(i) {
            out.append_null();
        } else {
            out.append_value(texts.value(i).parse::<IpAddr>().is_ok_and(|ip| cidr.contains(ip)));
        }
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

fn points(args: &ScalarFunctionArgs) -> Result<(Float64Array, Float64Array)> {
    let lat = args.args[0].to_array(args.number_rows)?;
    let lon = args.args[1].to_array(args.number_rows)?;
    let lat = arrow::compute::cast(&lat, &DataType::Float64)?;
    let lon = arrow::compute::cast(&lon, &DataType::Float64)?;
    Ok((
        lat.as_primitive::<Float64Type>().clone(),
        lon.as_primitive::<Float64Type>().clone(),
    ))
}

/// A text key per point (null where either coordinate is).
fn point_keys(args: &ScalarFunctionArgs, key: impl Fn(f64, f64) -> String) -> Result<ColumnarValue> {
    let (lat, lon) = points(args)?;
    let mut out = StringBuilder::new();
    for i in 0..lat.len() {
        if lat.is_null(i) || lon.is_null(i) {
            out.append_null();
        } else {
            out.append_value(key(lat.value(i), lon.value(i)));
        }
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

fn geotile_impl(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    let zoom = scalar_int(&args.args[2], "the zoom")?.clamp(0, 29) as u32;
    let (lat, lon) = points(&args)?;
    let mut rows = RowMemo::new();
    // Integers group much faster than `z/x/y` strings; the key is spelled out per bucket.
    let keys: arrow::array::Int64Array = lat
        .iter()
        .zip(lon.iter())
        .map(|(lat, lon)| Some(pack_tile(zoom, (tile_column(lon?, zoom), rows.row(lat?, zoom)))))
        .collect();
    Ok(ColumnarValue::Array(Arc::new(keys)))
}

/// Tile rows by latitude, remembered in a small direct-mapped table: GeoIP points repeat (one
/// per city), and a row costs a tangent, a cosine and a logarithm (a third of a geotile grid's
/// time before). One memo serves one call, whose zoom is a constant: the zoom is not in the key.
struct RowMemo {
    slots: Vec<Option<(u64, u64)>>,
}

impl RowMemo {
    const BITS: u32 = 12;

    fn new() -> Self {
        RowMemo {
            slots: vec![None; 1 << Self::BITS],
        }
    }

    fn row(&mut self, lat: f64, zoom: u32) -> u64 {
        let bits = lat.to_bits();
        let slot = (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - Self::BITS)) as usize;
        match self.slots[slot] {
            Some((b, row)) if b == bits => row,
            _ => {
                let row = tile_row(lat, zoom);
                self.slots[slot] = Some((bits, row));
                row
            }
        }
    }
}

/// A tile as one integer: zoom in the top bits, then x and y (29 bits each, zoom ≤ 29).
pub fn pack_tile(zoom: u32, (x, y): (u64, u64)) -> i64 {
    i64::try_from((u64::from(zoom) << 58) | (x << 29) | y).unwrap_or(i64::MAX)
}

/// `zoom/x/y` of a packed tile.
pub fn tile_key(packed: i64) -> String {
    let v = u64::try_from(packed).unwrap_or(0);
    let mask = (1u64 << 29) - 1;
    format!("{}/{}/{}", v >> 58, (v >> 29) & mask, v & mask)
}

/// Web-Mercator tile of a point, clamped to the map as Elasticsearch does.
pub fn tile_of(lat: f64, lon: f64, zoom: u32) -> (u64, u64) {
    (tile_column(lon, zoom), tile_row(lat, zoom))
}

fn tile_column(lon: f64, zoom: u32) -> u64 {
    let n = (1u64 << zoom) as f64;
    let x = ((lon + 180.0) / 360.0 * n).floor();
    x.clamp(0.0, n - 1.0) as u64
}

fn tile_row(lat: f64, zoom: u32) -> u64 {
    let n = (1u64 << zoom) as f64;
    let lat = lat.clamp(-85.051_128_779_806_59, 85.051_128_779_806_59).to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    y.clamp(0.0, n - 1.0) as u64
}

fn geohash_impl(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    let precision = scalar_int(&args.args[2], "the precision")?.clamp(1, 12) as usize;
    point_keys(&args, |lat, lon| geohash_of(lat, lon, precision))
}

/// The standard base-32 geohash of a point.
pub fn geohash_of(lat: f64, lon: f64, precision: usize) -> String {
    const BASE32: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (mut lat_lo, mut lat_hi) = (-90.0, 90.0);
    let (mut lon_lo, mut lon_hi) = (-180.0, 180.0);
    let mut out = String::with_capacity(precision);
    let mut even = true;
    let (mut bits, mut ch) = (0, 0usize);
    while out.len() < precision {
        let (lo, hi, v) = if even {
            (&mut lon_lo, &mut lon_hi, lon)
        } else {
            (&mut lat_lo, &mut lat_hi, lat)
        };
        let mid = (*lo + *hi) / 2.0;
        ch <<= 1;
        if v >= mid {
            ch |= 1;
            *lo = mid;
        } else {
            *hi = mid;
        }
        even = !even;
        bits += 1;
        if bits == 5 {
            out.push(char::from(BASE32[ch]));
            bits = 0;
            ch = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks() {
        let c = Cidr::parse("203.0.113.0/24");
        assert!(c.is_some_and(|c| c.contains("203.0.113.77".parse().unwrap_or(IpAddr::from([0; 4])))));
        assert!(c.is_some_and(|c| !c.contains("203.0.114.1".parse().unwrap_or(IpAddr::from([0; 4])))));
        assert!(Cidr::parse("0.0.0.0/0").is_some_and(|c| c.contains(IpAddr::from([8, 8, 8, 8]))));
        assert!(
            Cidr::parse("2001:db8::/32")
                .is_some_and(|c| c.contains("2001:db8::1".parse().unwrap_or(IpAddr::from([0; 4]))))
        );
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("not-an-ip"), None);
    }

    #[test]
    fn geohash_and_tiles_match_known_values() {
        // Known values: the geohash of (57.64911, 10.40744) is u4pruydqqvj; Paris at zoom 4 is tile 8/5.
        assert_eq!(geohash_of(57.64911, 10.40744, 11), "u4pruydqqvj");
        assert_eq!(tile_of(48.8566, 2.3522, 4), (8, 5));
        assert_eq!(tile_of(-90.0, -180.0, 2), (0, 3));
        // Remembered rows are the rows, whatever collides in the table.
        let mut memo = RowMemo::new();
        for round in 0..2 {
            for i in 0..20_000 {
                let lat = -89.9 + f64::from(i) * 0.009;
                assert_eq!(memo.row(lat, 7), tile_row(lat, 7), "{lat} (round {round})");
            }
        }
        assert_eq!(tile_key(pack_tile(29, (536_870_911, 5))), "29/536870911/5");
    }

    #[tokio::test]
    async fn bucket_starts_equal_the_arithmetic_they_replace() {
        use arrow::array::{RecordBatch, TimestampMicrosecondArray};
        use datafusion::logical_expr::cast;
        let times = TimestampMicrosecondArray::from(vec![
            Some(0),
            Some(-1),
            Some(-3_600_000_001),
            Some(1_759_276_800_000_000),
            Some(1_759_280_399_999_999),
            None,
            Some(1_761_868_799_123_456),
        ])
        .with_timezone("UTC");
        let batch = RecordBatch::try_from_iter([("t", Arc::new(times) as ArrayRef)]).unwrap_or_else(|e| panic!("{e}"));
        let ctx = SessionContext::new();
        ctx.register_batch("t", batch).unwrap_or_else(|e| panic!("{e}"));
        for (width, offset) in [
            (3_600_000_000, 0),
            // India's offset is not a whole number of hours.
            (3_600_000_000, 19_800_000_000),
            (86_400_000_000, -25_200_000_000),
        ] {
            let us = cast(
                cast(
                    datafusion::prelude::col("t"),
                    DataType::Timestamp(TimeUnit::Microsecond, None),
                ),
                DataType::Int64,
            ) + lit(offset);
            let w = lit(width);
            let arithmetic = us.clone() - ((us % w.clone()) + w.clone()) % w - lit(offset);
            let df = ctx
                .table("t")
                .await
                .and_then(|t| {
                    t.select(vec![
                        bucket_start(datafusion::prelude::col("t"), width, offset).alias("a"),
                        arithmetic.alias("b"),
                    ])
                })
                .unwrap_or_else(|e| panic!("{e}"));
            let batches = df.collect().await.unwrap_or_else(|e| panic!("{e}"));
            for b in &batches {
                let (x, y) = (
                    b.column(0).as_primitive::<arrow::datatypes::Int64Type>(),
                    b.column(1).as_primitive::<arrow::datatypes::Int64Type>(),
                );
                assert_eq!(x, y, "width {width}, offset {offset}");
                assert_eq!(x.null_count(), 1);
            }
        }
    }

    #[test]
    fn json_paths_search_arrays_and_ignore_case() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"cluster":"prod","Tags":[{"key":"a"},{"key":"b","value":1}],"n":{"x":[true]}}"#)
                .unwrap_or_default();
        assert_eq!(find_path(&v, &["cluster"]).map(value_text), Some("prod".into()));
        assert_eq!(find_path(&v, &["tags", "value"]).map(value_text), Some("1".into()));
        assert_eq!(find_path(&v, &["n", "x"]).map(value_text), Some("true".into()));
        assert_eq!(find_path(&v, &["missing"]), None);
    }
}
