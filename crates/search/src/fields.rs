//! The fields a query can name, and what each one is.
//!
//! Every leaf column of the table is a field, under its lowercase Athena path
//! (`useridentity.sessioncontext.sessionissuer.username`) and answered case-insensitively, so
//! CloudTrail's own spelling (`userIdentity.sessionContext.sessionIssuer.userName`) works too.
//! Kibana habits are accepted: a `.keyword` suffix, `@timestamp` and `_id`. Paths below a
//! JSON-text column (`requestParameters.cluster`) are fields as well; they are looked up in the
//! text at query time.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use arrow::datatypes::DataType;
use datafusion::functions::core::expr_fn::get_field;
use datafusion::prelude::{Expr, ident};
use trailscope_cloudtrail::schema;

use crate::udf;

/// How a field is searched and aggregated (named after the Elasticsearch mapping types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Exact values: `eventsource`, `useridentity.arn`.
    Keyword,
    /// Prose, matched by contained words, case-insensitively: `useragent`, `errormessage`.
    Text,
    /// JSON documents stored as text (`requestparameters`): matched like [`FieldType::Text`];
    /// their inner paths are fields of their own.
    Json,
    /// Instants: `eventtime`.
    Date,
    /// A calendar day (the partition column `eventdate`).
    Day,
    Long,
    Double,
    /// A `{lat, lon}` struct: `geoip.location`.
    GeoPoint,
    /// An IP address kept as text; queries accept CIDR blocks.
    Ip,
    /// `true`/`false` kept as text, as CloudTrail writes it.
    Boolean,
    /// A list of exact values: `tags`, `resources.arn`.
    KeywordList,
}

impl FieldType {
    /// The Elasticsearch mapping type reported by `_mapping` and `_field_caps`.
    pub fn es_type(self) -> &'static str {
        match self {
            FieldType::Keyword | FieldType::KeywordList => "keyword",
            FieldType::Text | FieldType::Json => "text",
            FieldType::Date | FieldType::Day => "date",
            FieldType::Long => "long",
            FieldType::Double => "double",
            FieldType::GeoPoint => "geo_point",
            FieldType::Ip => "ip",
            FieldType::Boolean => "boolean",
        }
    }

    pub fn aggregatable(self) -> bool {
        !matches!(self, FieldType::Text | FieldType::Json)
    }
}

/// One named field: a column leaf or a path inside a JSON-text column.
#[derive(Debug, Clone)]
pub struct FieldDef {
    /// Lowercase dotted path, the key of the catalog (`useridentity.arn`).
    pub path: String,
    /// CloudTrail's spelling (`userIdentity.arn`), used in `_source`, mappings and field lists.
    pub display: String,
    pub ty: FieldType,
    /// The value of the field as a DataFusion expression over the `cloudtrail` view.
    pub expr: Expr,
    /// A path inside a JSON-text column (values are found in the text at query time).
    pub inside_json: bool,
}

/// All fields of the table.
#[derive(Debug)]
pub struct Catalog {
    fields: BTreeMap<String, FieldDef>,
}

/// Columns whose text is a JSON document.
const JSON_COLUMNS: &[&str] = &[
    "requestparameters",
    "responseelements",
    "additionaleventdata",
    "serviceeventdetails",
    "edgedevicedetails",
    "insightdetails",
    "useridentity.sessioncontext.webidfederationdata.attributes",
];
const TEXT_COLUMNS: &[&str] = &["useragent", "errormessage", "rawevent"];
const IP_COLUMNS: &[&str] = &["sourceipaddress", "geoip.ip"];
const BOOLEAN_COLUMNS: &[&str] = &["readonly", "managementevent", "sessioncredentialfromconsole"];
/// Internal columns that are not fields: the template is an implementation detail of `rawevent`.
const HIDDEN_COLUMNS: &[&str] = &["eventtemplate"];

/// CloudTrail's spelling of each lowercase path segment that differs from it.
const SPELLING: &[(&str, &str)] = &[
    ("eventversion", "eventVersion"),
    ("useridentity", "userIdentity"),
    ("principalid", "principalId"),
    ("accountid", "accountId"),
    ("invokedby", "invokedBy"),
    ("accesskeyid", "accessKeyId"),
    ("username", "userName"),
    ("identityprovider", "identityProvider"),
    ("credentialid", "credentialId"),
    ("onbehalfof", "onBehalfOf"),
    ("userid", "userId"),
    ("identitystorearn", "identityStoreArn"),
    ("sessioncontext", "sessionContext"),
    ("mfaauthenticated", "mfaAuthenticated"),
    ("creationdate", "creationDate"),
    ("sessionissuer", "sessionIssuer"),
    ("ec2roledelivery", "ec2RoleDelivery"),
    ("webidfederationdata", "webIdFederationData"),
    ("federatedprovider", "federatedProvider"),
    ("sourceidentity", "sourceIdentity"),
    ("eventtime", "eventTime"),
    ("eventsource", "eventSource"),
    ("eventname", "eventName"),
    ("awsregion", "awsRegion"),
    ("sourceipaddress", "sourceIPAddress"),
    ("useragent", "userAgent"),
    ("errorcode", "errorCode"),
    ("errormessage", "errorMessage"),
    ("requestparameters", "requestParameters"),
    ("responseelements", "responseElements"),
    ("additionaleventdata", "additionalEventData"),
    ("requestid", "requestID"),
    ("eventid", "eventID"),
    ("eventtype", "eventType"),
    ("apiversion", "apiVersion"),
    ("readonly", "readOnly"),
    ("recipientaccountid", "recipientAccountId"),
    ("serviceeventdetails", "serviceEventDetails"),
    ("sharedeventid", "sharedEventID"),
    ("vpcendpointid", "vpcEndpointId"),
    ("vpcendpointaccountid", "vpcEndpointAccountId"),
    ("eventcategory", "eventCategory"),
    ("updatedfields", "updatedFields"),
    ("originalrequestid", "originalRequestID"),
    ("originaleventid", "originalEventID"),
    ("sessioncredentialfromconsole", "sessionCredentialFromConsole"),
    ("edgedevicedetails", "edgeDeviceDetails"),
    ("tlsdetails", "tlsDetails"),
    ("tlsversion", "tlsVersion"),
    ("ciphersuite", "cipherSuite"),
    ("clienthostheader", "clientProvidedHostHeader"),
    ("managementevent", "managementEvent"),
    ("insightdetails", "insightDetails"),
];

/// Names people type for a field that has another path here.
const ALIASES: &[(&str, &str)] = &[
    ("@timestamp", "eventtime"),
    ("_id", "eventid"),
    ("tlsdetails.clientprovidedhostheader", "tlsdetails.clienthostheader"),
];

fn spell(segment: &str, parent: &str) -> String {
    if parent == "resources" && segment == "arn" {
        return "ARN".to_string();
    }
    SPELLING
        .iter()
        .find(|(l, _)| *l == segment)
        .map_or_else(|| segment.to_string(), |(_, s)| (*s).to_string())
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(Catalog::build);

impl Catalog {
    /// The catalog of the `cloudtrail` view (built once from the table schema).
    pub fn get() -> &'static Catalog {
        &CATALOG
    }

    fn build() -> Catalog {
        let mut fields = BTreeMap::new();
        for f in schema::table_schema().fields() {
            let name = if f.name() == schema::EVENT_TEMPLATE {
                schema::RAW_EVENT
            } else {
                f.name().as_str()
            };
            add_leaves(&mut fields, name, &spell(name, ""), ident(name), f.data_type());
        }
        for hidden in HIDDEN_COLUMNS {
            fields.remove(*hidden);
        }
        Catalog { fields }
    }

    /// All fields, by path.
    pub fn fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.values()
    }

    /// Resolves a field name as a user wrote it.
    pub fn resolve(&self, name: &str) -> Result<FieldDef, UnknownField> {
        let mut written = name.trim();
        if let Some(cut) = written.len().checked_sub(8)
            && written
                .get(cut..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case(".keyword"))
        {
            written = &written[..cut];
        }
        let mut key = written.to_ascii_lowercase();
        if let Some((_, to)) = ALIASES.iter().find(|(from, _)| *from == key) {
            key = (*to).to_string();
        }
        if let Some(def) = self.fields.get(&key) {
            return Ok(def.clone());
        }
        // A path inside a JSON-text column: the longest column prefix wins, the rest is the
        // path as written (JSON keys are case-sensitive; the lookup falls back to ignoring case).
        for column in JSON_COLUMNS {
            if let Some(rest) = key.strip_prefix(column).and_then(|r| r.strip_prefix('.'))
                && !rest.is_empty()
                && let Some(def) = self.fields.get(*column)
            {
                // ASCII lowercasing keeps byte offsets, so the key's suffix is the written one's.
                let original = &written[written.len() - rest.len()..];
                return Ok(FieldDef {
                    path: format!("{column}.{original}"),
                    display: format!("{}.{original}", def.display),
                    ty: FieldType::Keyword,
                    expr: udf::json_get(def.expr.clone(), original),
                    inside_json: true,
                });
            }
        }
        Err(UnknownField {
            name: name.to_string(),
            suggestions: self.suggest(&key),
        })
    }

    /// Up to three known names closest to `key` (edit distance), CloudTrail spelling.
    fn suggest(&self, key: &str) -> Vec<String> {
        let mut scored: Vec<(usize, &FieldDef)> = self
            .fields
            .values()
            .map(|f| {
                let last = f.path.rsplit('.').next().unwrap_or(&f.path);
                let key_last = key.rsplit('.').next().unwrap_or(key);
                (levenshtein(key, &f.path).min(levenshtein(key_last, last) + 1), f)
            })
            .collect();
        scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.path.cmp(&b.1.path)));
        let limit = (key.len() / 2).max(2);
        scored
            .into_iter()
            .filter(|(d, _)| *d <= limit)
            .take(3)
            .map(|(_, f)| f.display.clone())
            .collect()
    }
}

fn add_leaves(out: &mut BTreeMap<String, FieldDef>, path: &str, display: &str, expr: Expr, ty: &DataType) {
    match ty {
        DataType::Struct(children) if path == "geoip.location" => {
            insert(out, path, display, expr.clone(), FieldType::GeoPoint);
            for c in children {
                let p = format!("{path}.{}", c.name());
                add_leaves(
                    out,
                    &p,
                    &format!("{display}.{}", c.name()),
                    get_field(expr.clone(), c.name().as_str()),
                    c.data_type(),
                );
            }
        }
        DataType::Struct(children) => {
            for c in children {
                let p = format!("{path}.{}", c.name());
                let parent = path.rsplit('.').next().unwrap_or(path);
                let d = format!("{display}.{}", spell(c.name(), parent));
                add_leaves(out, &p, &d, get_field(expr.clone(), c.name().as_str()), c.data_type());
            }
        }
        DataType::List(item) => match item.data_type() {
            DataType::Struct(children) => {
                for c in children {
                    let p = format!("{path}.{}", c.name());
                    let d = format!("{display}.{}", spell(c.name(), path));
                    insert(
                        out,
                        &p,
                        &d,
                        udf::list_field(expr.clone(), c.name()),
                        FieldType::KeywordList,
                    );
                }
            }
            _ => insert(out, path, display, expr, FieldType::KeywordList),
        },
        DataType::Timestamp(_, _) => insert(out, path, display, expr, FieldType::Date),
        DataType::Date32 => insert(out, path, display, expr, FieldType::Day),
        DataType::Int64 | DataType::Int32 => insert(out, path, display, expr, FieldType::Long),
        DataType::Float64 | DataType::Float32 => insert(out, path, display, expr, FieldType::Double),
        _ => {
            let ty = if JSON_COLUMNS.contains(&path) {
                FieldType::Json
            } else if TEXT_COLUMNS.contains(&path) {
                FieldType::Text
            } else if IP_COLUMNS.contains(&path) {
                FieldType::Ip
            } else if BOOLEAN_COLUMNS.contains(&path) {
                FieldType::Boolean
            } else {
                FieldType::Keyword
            };
            insert(out, path, display, expr, ty);
        }
    }
}

fn insert(out: &mut BTreeMap<String, FieldDef>, path: &str, display: &str, expr: Expr, ty: FieldType) {
    out.insert(
        path.to_string(),
        FieldDef {
            path: path.to_string(),
            display: display.to_string(),
            ty,
            expr,
            inside_json: false,
        },
    );
}

/// A field name that is neither a column nor a path inside a JSON-text column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    pub name: String,
    pub suggestions: Vec<String>,
}

impl std::fmt::Display for UnknownField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown field '{}'", self.name)?;
        if !self.suggestions.is_empty() {
            write!(f, "; did you mean {}?", self.suggestions.join(", "))?;
        }
        Ok(())
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_cloudtrail_spelling_and_aliases() {
        let c = Catalog::get();
        assert_eq!(
            c.resolve("eventSource").map(|f| f.path).ok(),
            Some("eventsource".into())
        );
        assert_eq!(
            c.resolve("userIdentity.sessionContext.sessionIssuer.userName")
                .map(|f| f.display)
                .ok(),
            Some("userIdentity.sessionContext.sessionIssuer.userName".into())
        );
        assert_eq!(
            c.resolve("eventName.keyword").map(|f| f.path).ok(),
            Some("eventname".into())
        );
        assert_eq!(c.resolve("@timestamp").map(|f| f.ty).ok(), Some(FieldType::Date));
        assert_eq!(
            c.resolve("geoip.location").map(|f| f.ty).ok(),
            Some(FieldType::GeoPoint)
        );
        assert_eq!(
            c.resolve("resources.ARN").map(|f| f.ty).ok(),
            Some(FieldType::KeywordList)
        );
        assert_eq!(c.resolve("sourceIPAddress").map(|f| f.ty).ok(), Some(FieldType::Ip));
        let json = c.resolve("requestParameters.cluster").ok();
        assert_eq!(json.map(|f| f.path), Some("requestparameters.cluster".into()));
        assert!(c.resolve("eventtemplate").is_err());
    }

    #[test]
    fn unknown_fields_suggest_near_names() {
        let e = Catalog::get().resolve("eventsorce").err();
        let e = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.contains("unknown field 'eventsorce'") && e.contains("eventSource"),
            "{e}"
        );
    }
}
