//! `rawevent` without storing every value twice.
//!
//! The original record is kept as a *template*: its exact JSON text in which each value that a
//! typed column already holds, byte for byte, is replaced by a two-byte placeholder
//! (`0x01`, `0x20 + field code`). A raw `0x01` never occurs in JSON text (control characters must be
//! escaped inside strings and are not allowed outside them), so placeholders are unambiguous.
//! Rendering puts the column values back and gives the original text exactly.
//!
//! Only values *borrowed* from the input are spliced: a string without escapes (its bytes are the
//! column's bytes), a JSON object kept as its compact text, and `eventTime` when re-formatting the
//! timestamp gives the same text. Everything else stays in the template verbatim, so rendering is
//! lossless by construction. Event ids and request ids are random and would otherwise be stored
//! twice; this is what lets the table be smaller than the `.json.gz` input.

use std::borrow::Cow;

use arrow::array::{Array, AsArray, StringArray, StructArray};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use crate::time::format_event_time;

const MARK: u8 = 0x01;
const CODE_BASE: u8 = 0x20;

/// Columns whose values may be spliced out of the template, by field code (the index).
/// Paths are column names, nested with dots.
pub const FIELDS: &[&str] = &[
    "eventversion",
    "eventtime",
    "eventsource",
    "eventname",
    "awsregion",
    "sourceipaddress",
    "useragent",
    "errorcode",
    "errormessage",
    "requestparameters",
    "responseelements",
    "additionaleventdata",
    "requestid",
    "eventid",
    "eventtype",
    "apiversion",
    "recipientaccountid",
    "serviceeventdetails",
    "sharedeventid",
    "vpcendpointid",
    "vpcendpointaccountid",
    "eventcategory",
    "edgedevicedetails",
    "insightdetails",
    "useridentity.type",
    "useridentity.principalid",
    "useridentity.arn",
    "useridentity.accountid",
    "useridentity.invokedby",
    "useridentity.accesskeyid",
    "useridentity.username",
    "useridentity.sessioncontext.sessionissuer.type",
    "useridentity.sessioncontext.sessionissuer.principalid",
    "useridentity.sessioncontext.sessionissuer.arn",
    "useridentity.sessioncontext.sessionissuer.accountid",
    "useridentity.sessioncontext.sessionissuer.username",
    "useridentity.sessioncontext.attributes.mfaauthenticated",
    "useridentity.sessioncontext.attributes.creationdate",
    "tlsdetails.tlsversion",
    "tlsdetails.ciphersuite",
    "tlsdetails.clienthostheader",
];

/// Field code of a path in [`FIELDS`] (compile-time use by the builder).
pub const fn code(path: &str) -> u8 {
    let mut i = 0;
    while i < FIELDS.len() {
        if eq(FIELDS[i].as_bytes(), path.as_bytes()) {
            return i as u8;
        }
        i += 1;
    }
    panic!("unknown template field");
}

const fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Collects the spans of one record to splice out.
#[derive(Debug, Default)]
pub struct Splicer {
    spans: Vec<(usize, usize, u8)>,
}

impl Splicer {
    pub fn clear(&mut self) {
        self.spans.clear();
    }

    /// Marks `value` for splicing when it is a slice of `raw` (so its bytes are the column's).
    pub fn offer(&mut self, raw: &str, value: &str, code: u8) {
        let base = raw.as_ptr() as usize;
        let at = value.as_ptr() as usize;
        if !value.is_empty() && at >= base && at + value.len() <= base + raw.len() {
            self.spans.push((at - base, at - base + value.len(), code));
        }
    }

    /// The template of `raw`.
    pub fn template(&mut self, raw: &str) -> String {
        let mut out = String::with_capacity(raw.len() / 2);
        self.write_template(raw, &mut out);
        out
    }

    /// Writes the template of `raw` to `out` (an Arrow string builder, to skip a copy).
    pub fn write_template(&mut self, raw: &str, out: &mut impl std::fmt::Write) {
        self.spans.sort_unstable();
        let mut pos = 0;
        // Writing to a String or an Arrow builder cannot fail.
        for &(start, end, code) in &self.spans {
            if start < pos {
                continue; // overlapping offers cannot happen for distinct fields; be safe anyway
            }
            let _ = out.write_str(&raw[pos..start]);
            let _ = out.write_char(char::from(MARK));
            let _ = out.write_char(char::from(CODE_BASE + code));
            pos = end;
        }
        let _ = out.write_str(&raw[pos..]);
    }
}

/// Puts values back into a template. `value(code)` returns the column's text for that field.
pub fn render<'v>(template: &str, mut value: impl FnMut(u8) -> Option<Cow<'v, str>>) -> Result<String, RenderError> {
    let bytes = template.as_bytes();
    let mut out = String::with_capacity(template.len() * 2);
    let mut pos = 0;
    while let Some(i) = memchr::memchr(MARK, &bytes[pos..]) {
        let at = pos + i;
        out.push_str(&template[pos..at]);
        let code = bytes
            .get(at + 1)
            .copied()
            .ok_or(RenderError::Truncated)?
            .wrapping_sub(CODE_BASE);
        let v = value(code).ok_or(RenderError::MissingValue(code))?;
        out.push_str(&v);
        pos = at + 2;
    }
    out.push_str(&template[pos..]);
    Ok(out)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("template ends inside a placeholder")]
    Truncated,
    #[error("template refers to field code {0}, whose column is null or unknown")]
    MissingValue(u8),
}

/// The values of [`FIELDS`] in a batch, as text.
pub struct FieldValues {
    columns: Vec<Option<StringArray>>,
}

impl FieldValues {
    /// Finds and converts the [`FIELDS`] columns of `batch` (table or parsed schema).
    pub fn from_batch(batch: &RecordBatch) -> Result<Self, ArrowError> {
        let mut columns = Vec::with_capacity(FIELDS.len());
        for path in FIELDS {
            let mut parts = path.split('.');
            let first = parts.next().unwrap_or_default();
            let mut array = batch.column_by_name(first).cloned();
            for part in parts {
                array = array.and_then(|a| {
                    a.as_any()
                        .downcast_ref::<StructArray>()
                        .and_then(|s| s.column_by_name(part).cloned())
                });
            }
            columns.push(match array {
                Some(a) => Some(to_text(a.as_ref())?),
                None => None,
            });
        }
        Ok(Self { columns })
    }

    /// From arrays given in [`FIELDS`] order (as the SQL function receives them).
    pub fn from_arrays(arrays: &[&dyn Array]) -> Result<Self, ArrowError> {
        let columns = arrays.iter().map(|a| to_text(*a).map(Some)).collect::<Result<_, _>>()?;
        Ok(Self { columns })
    }

    pub fn value(&self, code: u8, row: usize) -> Option<Cow<'_, str>> {
        let col = self.columns.get(usize::from(code))?.as_ref()?;
        col.is_valid(row).then(|| Cow::Borrowed(col.value(row)))
    }
}

/// Column values as UTF-8 strings; `eventtime` re-formatted as CloudTrail writes it.
pub fn to_text(a: &dyn Array) -> Result<StringArray, ArrowError> {
    match a.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let ts = a.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
            Ok(ts.iter().map(|v| v.map(format_event_time)).collect())
        }
        DataType::Utf8 => Ok(a.as_string::<i32>().clone()),
        _ => {
            let cast = arrow::compute::cast(a, &DataType::Utf8)?;
            Ok(cast.as_string::<i32>().clone())
        }
    }
}

/// Renders the `rawevent` of every row of a batch that has the template column.
pub fn render_batch(batch: &RecordBatch, template_column: &str) -> Result<StringArray, ArrowError> {
    let templates = batch
        .column_by_name(template_column)
        .ok_or_else(|| ArrowError::SchemaError(format!("no column {template_column}")))?;
    render_rows(&to_text(templates.as_ref())?, &FieldValues::from_batch(batch)?)
}

/// Renders every row's template with that row's field values; a null template gives null.
pub fn render_rows(templates: &StringArray, values: &FieldValues) -> Result<StringArray, ArrowError> {
    let mut out = Vec::with_capacity(templates.len());
    for row in 0..templates.len() {
        if templates.is_null(row) {
            out.push(None);
            continue;
        }
        let text = render(templates.value(row), |code| values.value(code, row))
            .map_err(|e| ArrowError::ComputeError(format!("rawevent of row {row}: {e}")))?;
        out.push(Some(text));
    }
    Ok(StringArray::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_and_render_round_trip() {
        let raw = r#"{"eventID":"abc","eventName":"X","n":1}"#;
        let mut s = Splicer::default();
        let id = raw.find("abc").expect("id");
        let name = raw.find("\"X\"").expect("name") + 1;
        s.offer(raw, &raw[id..id + 3], code("eventid"));
        s.offer(raw, &raw[name..name + 1], code("eventname"));
        s.offer(raw, "not borrowed", code("eventsource"));
        let t = s.template(raw);
        assert_eq!(t, "{\"eventID\":\"\u{1}-\",\"eventName\":\"\u{1}#\",\"n\":1}");
        let back = render(&t, |c| match c {
            c if c == code("eventid") => Some("abc".into()),
            c if c == code("eventname") => Some("X".into()),
            _ => None,
        })
        .expect("render");
        assert_eq!(back, raw);
        assert_eq!(render("{\u{1}", |_| None), Err(RenderError::Truncated));
        assert_eq!(render("{\u{1}\u{2d}", |_| None), Err(RenderError::MissingValue(13)));
    }
}
