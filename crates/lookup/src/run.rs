//! Answering a [`Lookup`]: the attributes as DataFusion predicates, newest-first pages read in
//! time windows (`trailscope_search::windows`), and the response in AWS's shape.
//!
//! Pages are ordered by (`eventtime`, `eventid`, source object, index), all descending, and
//! continue strictly after the previous page's last row, so no event repeats or goes missing.
//! A page reads the newest hours that hold data first and widens only while it has too few
//! events: a common attribute is answered from a few row groups of the last day.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use arrow::array::{Array, AsArray, BooleanBuilder, ListArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Int64Type, TimestampMicrosecondType};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::functions::expr_fn::{coalesce, contains, split_part};
use datafusion::functions_nested::expr_fn::array_has;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use datafusion::prelude::{Expr, SessionContext, col, ident, lit, when};
use serde_json::{Map, Value as Json, json};
use trailscope_cloudtrail::schema;
use trailscope_cloudtrail::template::to_text;
use trailscope_search::Compiler;
use trailscope_search::dates::timestamp;
use trailscope_search::search::{RowKey, fetch_rows, filtered};
use trailscope_search::udf::list_field;
use trailscope_search::windows::{self, Window, Windows, read_newest};

use crate::derive::{self, ResourceInputs};
use crate::error::LookupError;
use crate::request::{AttributeKey, Lookup};
use crate::token::{self, Cursor, TokenKey};

/// The table version a lookup reads: its session and its `eventdate` partitions (ascending).
#[derive(Clone, Copy)]
pub struct Table<'a> {
    pub ctx: &'a SessionContext,
    pub version: Option<u64>,
    pub days: &'a [i32],
}

impl std::fmt::Debug for Table<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("version", &self.version)
            .field("days", &self.days.len())
            .finish_non_exhaustive()
    }
}

/// The cursor in `req`'s `NextToken`, checked against `req`'s parameters. The caller reads the
/// page from the table version the cursor names.
pub fn cursor(req: &Lookup, key: &TokenKey) -> Result<Option<Cursor>, LookupError> {
    req.next_token
        .as_deref()
        .map(|t| token::open(key, &req.fingerprint(), t))
        .transpose()
}

fn field(name: &str) -> Result<Expr, LookupError> {
    Ok(Compiler::default().field(name)?.expr)
}

/// `Username`, as `derive`'s module docs define it.
pub fn username() -> Result<Expr, LookupError> {
    let ty = field("useridentity.type")?;
    let arn = field("useridentity.arn")?;
    Ok(when(ty.clone().eq(lit("Root")), lit("root"))
        .when(
            ty.clone().eq(lit("AssumedRole")),
            split_part(arn.clone(), lit("/"), lit(3)),
        )
        .when(ty.eq(lit("FederatedUser")), split_part(arn, lit("/"), lit(2)))
        .otherwise(field("useridentity.username")?)?)
}

/// Management events, or Insights events when asked: what LookupEvents returns.
fn category(insight: bool) -> Result<Expr, LookupError> {
    let category = coalesce(vec![field("eventcategory")?, lit("Management")]);
    Ok(if insight {
        category.eq(lit("Insight"))
    } else {
        category
            .eq(lit("Management"))
            .and(coalesce(vec![field("managementevent")?, lit("true")]).not_eq(lit("false")))
    })
}

fn resource_arns() -> Expr {
    list_field(ident("resources"), "arn")
}

fn resource_types() -> Expr {
    list_field(ident("resources"), "type")
}

/// `value` as it appears inside JSON text (escaped), for a substring pre-check.
fn json_fragment(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    quoted[1..quoted.len().saturating_sub(1)].to_string()
}

fn attribute(key: AttributeKey, value: &str) -> Result<Expr, LookupError> {
    let v = lit(value.to_string());
    Ok(match key {
        AttributeKey::EventId => field("eventid")?.eq(v),
        AttributeKey::EventName => field("eventname")?.eq(v),
        AttributeKey::ReadOnly => field("readonly")?.eq(v),
        AttributeKey::EventSource => field("eventsource")?.eq(v),
        AttributeKey::AccessKeyId => field("useridentity.accesskeyid")?.eq(v),
        AttributeKey::Username => username()?.eq(v),
        AttributeKey::ResourceType => {
            // Cheap columns first: only events of a service whose parameters can name this
            // type, or that list it, are parsed.
            let sources: Vec<Expr> = derive::sources_of_type(value)
                .into_iter()
                .map(|s| lit(s.to_string()))
                .collect();
            let listed = array_has(resource_types(), v);
            let candidates = if sources.is_empty() {
                listed
            } else {
                field("eventsource")?.in_list(sources, false).or(listed)
            };
            candidates.and(has_resource(true, value)?)
        }
        AttributeKey::ResourceName => {
            let fragment = lit(json_fragment(value));
            let candidates = contains(field("requestparameters")?, fragment.clone())
                .or(contains(field("responseelements")?, fragment))
                .or(array_has(resource_arns(), v));
            candidates.and(has_resource(false, value)?)
        }
    })
}

fn has_resource(by_type: bool, value: &str) -> Result<Expr, LookupError> {
    Ok(HAS_RESOURCE.call(vec![
        lit(by_type),
        lit(value.to_string()),
        field("eventsource")?,
        field("readonly")?,
        field("requestparameters")?,
        field("responseelements")?,
        resource_arns(),
        resource_types(),
    ]))
}

/// Whether an event's derived resources include one of a type (or name): the exact check
/// behind the `ResourceType` and `ResourceName` attributes.
#[derive(Debug, PartialEq, Eq, Hash)]
struct HasResource {
    signature: Signature,
}

static HAS_RESOURCE: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
    Arc::new(ScalarUDF::from(HasResource {
        signature: Signature::any(8, Volatility::Immutable),
    }))
});

fn list_texts(list: &ListArray, row: usize) -> DfResult<Vec<Option<String>>> {
    if list.is_null(row) {
        return Ok(Vec::new());
    }
    let values = to_text(list.value(row).as_ref())?;
    Ok((0..values.len())
        .map(|i| (!values.is_null(i)).then(|| values.value(i).to_string()))
        .collect())
}

fn opt(a: &StringArray, row: usize) -> Option<&str> {
    (!a.is_null(row)).then(|| a.value(row))
}

/// The record's `resources[]` of one row, as (ARN, type) pairs.
fn listed(arns: &ListArray, types: &ListArray, row: usize) -> DfResult<Vec<(Option<String>, Option<String>)>> {
    let a = list_texts(arns, row)?;
    let mut t = list_texts(types, row)?;
    t.resize(a.len(), None);
    Ok(a.into_iter().zip(t).collect())
}

fn row_resources(
    cols: &[StringArray; 4],
    arns: &ListArray,
    types: &ListArray,
    row: usize,
) -> DfResult<Vec<derive::Resource>> {
    let listed = listed(arns, types, row)?;
    let pairs: Vec<(Option<&str>, Option<&str>)> = listed.iter().map(|(a, t)| (a.as_deref(), t.as_deref())).collect();
    Ok(derive::resources(&ResourceInputs {
        event_source: opt(&cols[0], row),
        read_only: opt(&cols[1], row),
        request_parameters: opt(&cols[2], row),
        response_elements: opt(&cols[3], row),
        listed: &pairs,
    }))
}

fn as_list(a: &dyn Array) -> DfResult<&ListArray> {
    a.as_list_opt::<i32>()
        .ok_or_else(|| DataFusionError::Internal("resources must be a list".into()))
}

impl ScalarUDFImpl for HasResource {
    fn name(&self) -> &str {
        "trailscope_lookup_has_resource"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let by_type = matches!(&args.args[0], ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))));
        let value = match &args.args[1] {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(s))) => s.clone(),
            _ => {
                return Err(DataFusionError::Plan(
                    "the resource to look for must be a text constant".into(),
                ));
            }
        };
        let n = args.number_rows;
        let texts = [2, 3, 4, 5].map(|i| args.args[i].to_array(n).and_then(|a| Ok(to_text(a.as_ref())?)));
        let [a, b, c, d] = texts;
        let cols = [a?, b?, c?, d?];
        let arns = args.args[6].to_array(n)?;
        let types = args.args[7].to_array(n)?;
        let (arns, types) = (as_list(arns.as_ref())?, as_list(types.as_ref())?);
        let mut out = BooleanBuilder::with_capacity(n);
        for row in 0..n {
            let found = row_resources(&cols, arns, types, row)?.iter().any(|r| {
                if by_type {
                    r.resource_type == value
                } else {
                    r.name == value
                }
            });
            out.append_value(found);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Every row strictly after `c` in the page order (all keys descending).
fn after(c: &Cursor) -> Result<Expr, LookupError> {
    let time = field(schema::EVENT_TIME)?;
    let id = coalesce(vec![field("eventid")?, lit("")]);
    let object = ident(schema::SOURCE_OBJECT_ID);
    let index = ident("sourceindex");
    let last = object
        .clone()
        .lt(lit(c.object.clone()))
        .or(object.eq(lit(c.object.clone())).and(index.lt(lit(c.index))));
    let within_id = id
        .clone()
        .lt(lit(c.event_id.clone()))
        .or(id.eq(lit(c.event_id.clone())).and(last));
    Ok(time
        .clone()
        .lt(timestamp(c.time))
        .or(time.eq(timestamp(c.time)).and(within_id)))
}

/// The rows matching `req`, without paging.
pub fn filter(req: &Lookup) -> Result<Expr, LookupError> {
    let mut f = category(req.insight)?;
    for a in &req.attributes {
        f = f.and(attribute(a.key, &a.value)?);
    }
    if req.start.is_some() || req.end.is_some() {
        let c = Compiler::default();
        let time = c.field(schema::EVENT_TIME)?;
        f = f.and(c.time_range(&time, req.start.map(|t| (t, true)), req.end.map(|t| (t, true))));
    }
    Ok(f)
}

/// One row of a page, in order: its identity and its sort key.
#[derive(Debug, Clone)]
struct Hit {
    key: RowKey,
    time: i64,
    event_id: String,
}

fn hits(batches: &[RecordBatch]) -> Result<Vec<Hit>, LookupError> {
    let mut out = Vec::new();
    for b in batches {
        let objects = to_text(b.column(0).as_ref()).map_err(DataFusionError::from)?;
        let indexes = b.column(1).as_primitive::<Int64Type>();
        let days = b.column(2).as_primitive::<arrow::datatypes::Date32Type>();
        let times = b.column(3).as_primitive::<TimestampMicrosecondType>();
        let ids = to_text(b.column(4).as_ref()).map_err(DataFusionError::from)?;
        for row in 0..b.num_rows() {
            out.push(Hit {
                key: RowKey {
                    object: objects.value(row).to_string(),
                    index: indexes.value(row),
                    day: days.value(row),
                },
                time: times.value(row),
                event_id: ids.value(row).to_string(),
            });
        }
    }
    Ok(out)
}

/// Up to `want` rows of `filter` with `lo <= eventtime < hi`, in page order.
async fn window(ctx: &SessionContext, filter: Expr, w: Window, want: usize) -> Result<Vec<Hit>, LookupError> {
    let bounds = windows::bounds(w)?;
    let batches = filtered(ctx, bounds.and(filter))
        .await?
        .select(vec![
            ident(schema::SOURCE_OBJECT_ID),
            ident("sourceindex"),
            ident(schema::EVENT_DATE),
            field(schema::EVENT_TIME)?.alias("__time"),
            coalesce(vec![field("eventid")?, lit("")]).alias("__id"),
        ])?
        .sort(vec![
            col("__time").sort(false, false),
            col("__id").sort(false, false),
            ident(schema::SOURCE_OBJECT_ID).sort(false, false),
            ident("sourceindex").sort(false, false),
        ])?
        .limit(0, Some(want))?
        .collect()
        .await?;
    hits(&batches)
}

/// Answers `req` (whose token, if any, was opened into `cursor` and names `table`'s version).
pub async fn lookup(
    table: &Table<'_>,
    req: &Lookup,
    cursor: Option<&Cursor>,
    key: &TokenKey,
) -> Result<Json, LookupError> {
    if let Some(c) = cursor
        && c.version != table.version
    {
        return Err(LookupError::InvalidNextToken(
            "NextToken belongs to another table version than the one read".into(),
        ));
    }
    let mut f = filter(req)?;
    if let Some(c) = cursor {
        f = f.and(after(c)?);
    }
    // An event id names one event (two when delivered twice): one read of everything, pruned
    // by the Parquet bloom filters, beats a series of windows.
    let first = if req.attributes.iter().any(|a| a.key == AttributeKey::EventId) {
        i64::MAX
    } else {
        windows::FIRST_WINDOW_US
    };
    let floor = req.start.map(|t| t.timestamp_micros());
    let mut ceiling = req.end.map(|t| t.timestamp_micros().saturating_add(1));
    if let Some(c) = cursor {
        ceiling = Some(ceiling.unwrap_or(i64::MAX).min(c.time.saturating_add(1)));
    }
    let windows = Windows::new(table.days, floor, ceiling, first);
    let f = &f;
    let mut found = read_newest(windows, req.max_results + 1, |w, want| {
        window(table.ctx, f.clone(), w, want)
    })
    .await?;
    let more = found.len() > req.max_results;
    found.truncate(req.max_results);
    let events = render(table.ctx, &found).await?;
    let mut body = Map::new();
    body.insert("Events".into(), Json::Array(events));
    if more && let Some(last) = found.last() {
        let c = Cursor {
            version: table.version,
            time: last.time,
            event_id: last.event_id.clone(),
            object: last.key.object.clone(),
            index: last.key.index,
        };
        body.insert(
            "NextToken".into(),
            Json::String(token::seal(key, &req.fingerprint(), &c)),
        );
    }
    Ok(Json::Object(body))
}

/// Epoch seconds as AWS's JSON protocol writes timestamps.
fn epoch_seconds(micros: i64) -> Json {
    let seconds = micros as f64 / 1e6;
    serde_json::Number::from_f64(seconds)
        .map(Json::Number)
        .unwrap_or(Json::Null)
}

/// The `Events` of a page, in page order, each as botocore's `Event` shape orders its members.
async fn render(ctx: &SessionContext, page: &[Hit]) -> Result<Vec<Json>, LookupError> {
    if page.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<RowKey> = page.iter().map(|h| h.key.clone()).collect();
    let columns = vec![
        field("eventid")?,
        field("eventname")?,
        field("readonly")?,
        field("useridentity.accesskeyid")?,
        field("eventsource")?,
        username()?,
        ident(schema::RAW_EVENT),
        field("requestparameters")?,
        field("responseelements")?,
        resource_arns(),
        resource_types(),
    ];
    let batches = fetch_rows(ctx, &keys, columns).await?;
    let mut by_key: HashMap<(String, i64), Json> = HashMap::new();
    for b in &batches {
        let text = |i: usize| to_text(b.column(i).as_ref()).map_err(DataFusionError::from);
        let objects = text(0)?;
        let indexes = b.column(1).as_primitive::<Int64Type>();
        let [id, name, read_only, access_key, source, user, raw, params, response] =
            [2, 3, 4, 5, 6, 7, 8, 9, 10].map(text);
        let (id, name, read_only, access_key, source, user, raw) =
            (id?, name?, read_only?, access_key?, source?, user?, raw?);
        let resource_cols = [source.clone(), read_only.clone(), params?, response?];
        let (arns, types) = (as_list(b.column(11).as_ref())?, as_list(b.column(12).as_ref())?);
        for row in 0..b.num_rows() {
            let key = (objects.value(row).to_string(), indexes.value(row));
            let time = page
                .iter()
                .find(|h| h.key.object == key.0 && h.key.index == key.1)
                .map(|h| h.time)
                .unwrap_or_default();
            let mut e = Map::new();
            let put = |e: &mut Map<String, Json>, k: &str, v: Option<&str>| {
                if let Some(v) = v {
                    e.insert(k.to_string(), Json::String(v.to_string()));
                }
            };
            put(&mut e, "EventId", opt(&id, row));
            put(&mut e, "EventName", opt(&name, row));
            put(&mut e, "ReadOnly", opt(&read_only, row));
            put(&mut e, "AccessKeyId", opt(&access_key, row));
            e.insert("EventTime".into(), epoch_seconds(time));
            put(&mut e, "EventSource", opt(&source, row));
            put(&mut e, "Username", opt(&user, row));
            let resources: Vec<Json> = row_resources(&resource_cols, arns, types, row)?
                .into_iter()
                .map(|r| {
                    let mut m = Map::new();
                    if !r.resource_type.is_empty() {
                        m.insert("ResourceType".into(), Json::String(r.resource_type));
                    }
                    m.insert("ResourceName".into(), Json::String(r.name));
                    Json::Object(m)
                })
                .collect();
            e.insert("Resources".into(), Json::Array(resources));
            e.insert("CloudTrailEvent".into(), json!(opt(&raw, row).unwrap_or("{}")));
            by_key.insert(key, Json::Object(e));
        }
    }
    Ok(page
        .iter()
        .filter_map(|h| by_key.remove(&(h.key.object.clone(), h.key.index)))
        .collect())
}
