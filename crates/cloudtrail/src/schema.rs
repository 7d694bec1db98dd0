//! The Arrow schema of the `cloudtrail` table.
//!
//! Column names and nesting follow AWS's Athena CloudTrail table (all lowercase), so queries
//! written for Athena run unchanged. Differences, all documented in `docs/schema.md`:
//! `eventtime` is a UTC timestamp instead of a string; `webidfederationdata.attributes` is JSON
//! text instead of a map; extra columns carry enrichment (`geoip`, `tags`), provenance
//! (`sourceobject`, `sourceindex`), the original event (`eventtemplate`, rendered as `rawevent`) and the partition
//! (`eventdate`).

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

pub const EVENT_TIME: &str = "eventtime";
pub const EVENT_DATE: &str = "eventdate";
pub const SOURCE_IP: &str = "sourceipaddress";
pub const GEOIP: &str = "geoip";
/// The original record with column values spliced out; `rawevent` is rendered from it.
pub const EVENT_TEMPLATE: &str = "eventtemplate";
/// The rendered original record, as the query layer exposes it.
pub const RAW_EVENT: &str = "rawevent";
pub const TAGS: &str = "tags";
/// Identity of the object a row came from (the ingest ledger: see `crates/ingest/design.md`).
pub const SOURCE_OBJECT_ID: &str = "sourceobjectid";
/// Tag set on events whose source IP was found in the GeoIP database (as Logstash does).
pub const GEOIP_TAG: &str = "cloudtrail-geoip";

fn s(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn strukt(name: &str, fields: Vec<Field>) -> Field {
    Field::new(name, DataType::Struct(Fields::from(fields)), true)
}

pub fn onbehalfof_fields() -> Fields {
    Fields::from(vec![s("userid"), s("identitystorearn")])
}

pub fn attributes_fields() -> Fields {
    Fields::from(vec![s("mfaauthenticated"), s("creationdate")])
}

pub fn sessionissuer_fields() -> Fields {
    Fields::from(vec![
        s("type"),
        s("principalid"),
        s("arn"),
        s("accountid"),
        s("username"),
    ])
}

pub fn webidfederationdata_fields() -> Fields {
    Fields::from(vec![s("federatedprovider"), s("attributes")])
}

pub fn sessioncontext_fields() -> Fields {
    Fields::from(vec![
        Field::new("attributes", DataType::Struct(attributes_fields()), true),
        Field::new("sessionissuer", DataType::Struct(sessionissuer_fields()), true),
        s("ec2roledelivery"),
        Field::new(
            "webidfederationdata",
            DataType::Struct(webidfederationdata_fields()),
            true,
        ),
        s("sourceidentity"),
    ])
}

pub fn useridentity_fields() -> Fields {
    Fields::from(vec![
        s("type"),
        s("principalid"),
        s("arn"),
        s("accountid"),
        s("invokedby"),
        s("accesskeyid"),
        s("username"),
        s("identityprovider"),
        s("credentialid"),
        Field::new("onbehalfof", DataType::Struct(onbehalfof_fields()), true),
        Field::new("sessioncontext", DataType::Struct(sessioncontext_fields()), true),
    ])
}

pub fn resource_fields() -> Fields {
    Fields::from(vec![s("arn"), s("accountid"), s("type")])
}

pub fn resources_item() -> Arc<Field> {
    Arc::new(Field::new("element", DataType::Struct(resource_fields()), true))
}

pub fn addendum_fields() -> Fields {
    Fields::from(vec![
        s("reason"),
        s("updatedfields"),
        s("originalrequestid"),
        s("originaleventid"),
    ])
}

pub fn tlsdetails_fields() -> Fields {
    Fields::from(vec![s("tlsversion"), s("ciphersuite"), s("clienthostheader")])
}

pub fn location_fields() -> Fields {
    Fields::from(vec![
        Field::new("lat", DataType::Float64, true),
        Field::new("lon", DataType::Float64, true),
    ])
}

/// The `geoip` struct, with Logstash's geoip filter field names.
pub fn geoip_fields() -> Fields {
    Fields::from(vec![
        s("ip"),
        s("city_name"),
        s("region_name"),
        s("region_code"),
        s("country_name"),
        s("country_code2"),
        s("country_code3"),
        s("continent_code"),
        s("postal_code"),
        s("timezone"),
        Field::new("latitude", DataType::Float64, true),
        Field::new("longitude", DataType::Float64, true),
        Field::new("location", DataType::Struct(location_fields()), true),
        Field::new("asn", DataType::Int64, true),
        s("as_org"),
    ])
}

pub fn tags_item() -> Arc<Field> {
    Arc::new(Field::new("element", DataType::Utf8, true))
}

pub fn event_time_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Columns produced by parsing, before enrichment, in order.
pub fn parsed_fields() -> Vec<Field> {
    vec![
        s("eventversion"),
        Field::new("useridentity", DataType::Struct(useridentity_fields()), true),
        Field::new(EVENT_TIME, event_time_type(), false),
        s("eventsource"),
        s("eventname"),
        s("awsregion"),
        s(SOURCE_IP),
        s("useragent"),
        s("errorcode"),
        s("errormessage"),
        s("requestparameters"),
        s("responseelements"),
        s("additionaleventdata"),
        s("requestid"),
        s("eventid"),
        Field::new("resources", DataType::List(resources_item()), true),
        s("eventtype"),
        s("apiversion"),
        s("readonly"),
        s("recipientaccountid"),
        s("serviceeventdetails"),
        s("sharedeventid"),
        s("vpcendpointid"),
        s("vpcendpointaccountid"),
        s("eventcategory"),
        strukt(
            "addendum",
            addendum_fields().iter().map(|f| f.as_ref().clone()).collect(),
        ),
        s("sessioncredentialfromconsole"),
        s("edgedevicedetails"),
        strukt(
            "tlsdetails",
            tlsdetails_fields().iter().map(|f| f.as_ref().clone()).collect(),
        ),
        s("managementevent"),
        s("insightdetails"),
        s("sourceobject"),
        Field::new(SOURCE_OBJECT_ID, DataType::Utf8, false),
        Field::new("sourceindex", DataType::Int64, false),
        Field::new(EVENT_TEMPLATE, DataType::Utf8, false),
        Field::new(EVENT_DATE, DataType::Date32, false),
    ]
}

/// Columns added by enrichment, in order, after the parsed ones.
pub fn enrichment_fields() -> Vec<Field> {
    vec![
        Field::new(GEOIP, DataType::Struct(geoip_fields()), true),
        Field::new(TAGS, DataType::List(tags_item()), true),
    ]
}

static PARSED: LazyLock<SchemaRef> = LazyLock::new(|| Arc::new(Schema::new(parsed_fields())));
static TABLE: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = parsed_fields();
    // The partition column stays last, where Delta readers put it.
    let date = fields.pop();
    fields.extend(enrichment_fields());
    fields.extend(date);
    Arc::new(Schema::new(fields))
});

/// Schema of batches produced by [`crate::EventBatchBuilder`].
pub fn parsed_schema() -> SchemaRef {
    Arc::clone(&PARSED)
}

/// Schema of the stored table (parsed columns + enrichment + partition column last).
pub fn table_schema() -> SchemaRef {
    Arc::clone(&TABLE)
}
