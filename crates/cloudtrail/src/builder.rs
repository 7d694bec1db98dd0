//! Builds Arrow record batches (the parsed part of the table schema) from borrowed records.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::NullBufferBuilder;
use arrow::array::{
    ArrayRef, Date32Builder, Int64Builder, ListArray, StringBuilder, StructArray, TimestampMicrosecondBuilder,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::Fields;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use serde_json::value::RawValue;

use crate::model::{OptText, RawEvent, Text};
use crate::schema;
use crate::template::{Splicer, code};
use crate::time::{epoch_days, is_formatted_event_time};

fn text<'t>(t: &'t OptText<'_>) -> Option<&'t str> {
    t.as_ref().map(|t| t.as_str())
}

fn json<'t>(v: Option<&'t RawValue>) -> Option<Cow<'t, str>> {
    v.map(|v| compact_json(v.get()))
}

/// Removes insignificant whitespace from JSON text when there is any (pretty-printed input);
/// CloudTrail's own compact JSON is returned as it is, without a copy.
pub fn compact_json(s: &str) -> Cow<'_, str> {
    if !s.as_bytes().contains(&b'\n') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in s.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\n' | '\r' | '\t') {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A struct column whose children are all strings.
struct StrStruct {
    fields: Fields,
    valid: NullBufferBuilder,
    cols: Vec<StringBuilder>,
}

impl StrStruct {
    fn new(fields: Fields, capacity: usize) -> Self {
        let cols = fields
            .iter()
            .map(|_| StringBuilder::with_capacity(capacity, capacity * 8))
            .collect();
        Self {
            fields,
            valid: NullBufferBuilder::new(capacity),
            cols,
        }
    }

    fn push(&mut self, values: Option<&[Option<&str>]>) {
        match values {
            Some(values) => {
                self.valid.append_non_null();
                for (col, v) in self.cols.iter_mut().zip(values) {
                    col.append_option(*v);
                }
            }
            None => {
                self.valid.append_null();
                for col in &mut self.cols {
                    col.append_null();
                }
            }
        }
    }

    fn finish(&mut self) -> Result<StructArray, ArrowError> {
        let arrays: Vec<ArrayRef> = self.cols.iter_mut().map(|c| Arc::new(c.finish()) as ArrayRef).collect();
        StructArray::try_new(self.fields.clone(), arrays, self.valid.finish())
    }
}

struct SessionContextCols {
    valid: NullBufferBuilder,
    attributes: StrStruct,
    issuer: StrStruct,
    ec2roledelivery: StringBuilder,
    webid: StrStruct,
    sourceidentity: StringBuilder,
}

struct IdentityCols {
    valid: NullBufferBuilder,
    leaves: Vec<StringBuilder>,
    onbehalfof: StrStruct,
    session: SessionContextCols,
}

/// The object records come from: its name as the user knows it and its ledger identity.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub name: &'a str,
    pub id: &'a str,
}

/// Accumulates records and produces [`schema::parsed_schema`] batches.
pub struct EventBatchBuilder {
    rows: usize,
    bytes: usize,
    eventversion: StringBuilder,
    identity: IdentityCols,
    eventtime: TimestampMicrosecondBuilder,
    strings_a: Vec<StringBuilder>,
    resources_offsets: Vec<i32>,
    resources_valid: NullBufferBuilder,
    resources: StrStruct,
    strings_b: Vec<StringBuilder>,
    addendum: StrStruct,
    sessioncredentialfromconsole: StringBuilder,
    edgedevicedetails: StringBuilder,
    tlsdetails: StrStruct,
    managementevent: StringBuilder,
    insightdetails: StringBuilder,
    sourceobject: StringBuilder,
    sourceobjectid: StringBuilder,
    sourceindex: Int64Builder,
    eventtemplate: StringBuilder,
    eventdate: Date32Builder,
    splicer: Splicer,
}

/// Columns between `eventtime` and `resources`, in schema order.
const STRINGS_A: usize = 12;
/// Columns between `resources` and `addendum`, in schema order.
const STRINGS_B: usize = 9;

fn strings(n: usize, capacity: usize) -> Vec<StringBuilder> {
    (0..n)
        .map(|_| StringBuilder::with_capacity(capacity, capacity * 16))
        .collect()
}

impl EventBatchBuilder {
    pub fn with_capacity(capacity: usize) -> Self {
        let id_fields = schema::useridentity_fields();
        Self {
            rows: 0,
            bytes: 0,
            eventversion: StringBuilder::new(),
            identity: IdentityCols {
                valid: NullBufferBuilder::new(capacity),
                leaves: strings(9, capacity),
                onbehalfof: StrStruct::new(schema::onbehalfof_fields(), capacity),
                session: SessionContextCols {
                    valid: NullBufferBuilder::new(capacity),
                    attributes: StrStruct::new(schema::attributes_fields(), capacity),
                    issuer: StrStruct::new(schema::sessionissuer_fields(), capacity),
                    ec2roledelivery: StringBuilder::new(),
                    webid: StrStruct::new(schema::webidfederationdata_fields(), capacity),
                    sourceidentity: StringBuilder::new(),
                },
            },
            eventtime: TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
            strings_a: strings(STRINGS_A, capacity),
            resources_offsets: {
                let mut v = Vec::with_capacity(capacity + 1);
                v.push(0);
                v
            },
            resources_valid: NullBufferBuilder::new(capacity),
            resources: StrStruct::new(schema::resource_fields(), capacity),
            strings_b: strings(STRINGS_B, capacity),
            addendum: StrStruct::new(schema::addendum_fields(), capacity),
            sessioncredentialfromconsole: StringBuilder::new(),
            edgedevicedetails: StringBuilder::new(),
            tlsdetails: StrStruct::new(schema::tlsdetails_fields(), capacity),
            managementevent: StringBuilder::new(),
            insightdetails: StringBuilder::new(),
            sourceobject: StringBuilder::with_capacity(capacity, capacity * 64),
            sourceobjectid: StringBuilder::with_capacity(capacity, capacity * 40),
            sourceindex: Int64Builder::with_capacity(capacity),
            eventtemplate: StringBuilder::with_capacity(capacity, capacity * 512),
            eventdate: Date32Builder::with_capacity(capacity),
            splicer: Splicer::default(),
        }
        .check_layout(id_fields.len())
    }

    fn check_layout(self, identity_fields: usize) -> Self {
        debug_assert_eq!(identity_fields, self.identity.leaves.len() + 2);
        self
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Bytes of original JSON held so far (a proxy for the batch's memory).
    pub fn raw_bytes(&self) -> usize {
        self.bytes
    }

    /// Appends one record. `event_time` is `eventTime` in µs since the epoch (UTC).
    pub fn push(&mut self, ev: &RawEvent<'_>, raw: &str, event_time: i64, source: &Source<'_>, index: i64) {
        self.rows += 1;
        self.bytes += raw.len();
        self.eventversion.append_option(text(&ev.event_version));
        self.push_identity(ev);
        self.eventtime.append_value(event_time);

        let a: [Option<Cow<'_, str>>; STRINGS_A] = [
            text(&ev.event_source).map(Cow::Borrowed),
            text(&ev.event_name).map(Cow::Borrowed),
            text(&ev.aws_region).map(Cow::Borrowed),
            text(&ev.source_ip_address).map(Cow::Borrowed),
            text(&ev.user_agent).map(Cow::Borrowed),
            text(&ev.error_code).map(Cow::Borrowed),
            text(&ev.error_message).map(Cow::Borrowed),
            json(ev.request_parameters),
            json(ev.response_elements),
            json(ev.additional_event_data),
            text(&ev.request_id).map(Cow::Borrowed),
            text(&ev.event_id).map(Cow::Borrowed),
        ];
        for (col, v) in self.strings_a.iter_mut().zip(&a) {
            col.append_option(v.as_deref());
        }

        match &ev.resources {
            Some(list) => {
                for r in list {
                    self.resources
                        .push(Some(&[text(&r.arn), text(&r.account_id), text(&r.kind)]));
                }
                self.resources_valid.append_non_null();
            }
            None => self.resources_valid.append_null(),
        }
        let last = self.resources_offsets.last().copied().unwrap_or(0);
        let added = ev.resources.as_ref().map_or(0, Vec::len);
        self.resources_offsets
            .push(last + i32::try_from(added).unwrap_or(i32::MAX));

        let b: [Option<Cow<'_, str>>; STRINGS_B] = [
            text(&ev.event_type).map(Cow::Borrowed),
            text(&ev.api_version).map(Cow::Borrowed),
            text(&ev.read_only).map(Cow::Borrowed),
            text(&ev.recipient_account_id).map(Cow::Borrowed),
            json(ev.service_event_details),
            text(&ev.shared_event_id).map(Cow::Borrowed),
            text(&ev.vpc_endpoint_id).map(Cow::Borrowed),
            text(&ev.vpc_endpoint_account_id).map(Cow::Borrowed),
            text(&ev.event_category).map(Cow::Borrowed),
        ];
        for (col, v) in self.strings_b.iter_mut().zip(&b) {
            col.append_option(v.as_deref());
        }

        match &ev.addendum {
            Some(a) => self.addendum.push(Some(&[
                text(&a.reason),
                text(&a.updated_fields),
                text(&a.original_request_id),
                text(&a.original_event_id),
            ])),
            None => self.addendum.push(None),
        }
        self.sessioncredentialfromconsole
            .append_option(text(&ev.session_credential_from_console));
        self.edgedevicedetails
            .append_option(json(ev.edge_device_details).as_deref());
        match &ev.tls_details {
            Some(t) => self.tlsdetails.push(Some(&[
                text(&t.tls_version),
                text(&t.cipher_suite),
                text(&t.client_provided_host_header),
            ])),
            None => self.tlsdetails.push(None),
        }
        self.managementevent.append_option(text(&ev.management_event));
        self.insightdetails.append_option(json(ev.insight_details).as_deref());
        self.sourceobject.append_value(source.name);
        self.sourceobjectid.append_value(source.id);
        self.sourceindex.append_value(index);
        self.append_template(ev, raw, event_time);
        self.eventdate.append_value(epoch_days(event_time));
    }

    /// The record's template: its text with the values the columns hold spliced out (see
    /// [`crate::template`]).
    fn append_template(&mut self, ev: &RawEvent<'_>, raw: &str, event_time: i64) {
        if raw.as_bytes().contains(&b'\n') {
            // Pretty-printed input is stored compacted; its offsets no longer apply.
            self.eventtemplate.append_value(compact_json(raw));
            return;
        }
        let sp = &mut self.splicer;
        sp.clear();
        let mut offer = |t: &OptText<'_>, c: u8| {
            if let Some(Text(Cow::Borrowed(s))) = t {
                sp.offer(raw, s, c);
            }
        };
        offer(&ev.event_version, code("eventversion"));
        offer(&ev.event_source, code("eventsource"));
        offer(&ev.event_name, code("eventname"));
        offer(&ev.aws_region, code("awsregion"));
        offer(&ev.source_ip_address, code("sourceipaddress"));
        offer(&ev.user_agent, code("useragent"));
        offer(&ev.error_code, code("errorcode"));
        offer(&ev.error_message, code("errormessage"));
        offer(&ev.request_id, code("requestid"));
        offer(&ev.event_id, code("eventid"));
        offer(&ev.event_type, code("eventtype"));
        offer(&ev.api_version, code("apiversion"));
        offer(&ev.recipient_account_id, code("recipientaccountid"));
        offer(&ev.shared_event_id, code("sharedeventid"));
        offer(&ev.vpc_endpoint_id, code("vpcendpointid"));
        offer(&ev.vpc_endpoint_account_id, code("vpcendpointaccountid"));
        offer(&ev.event_category, code("eventcategory"));
        if let Some(u) = &ev.user_identity {
            offer(&u.kind, code("useridentity.type"));
            offer(&u.principal_id, code("useridentity.principalid"));
            offer(&u.arn, code("useridentity.arn"));
            offer(&u.account_id, code("useridentity.accountid"));
            offer(&u.invoked_by, code("useridentity.invokedby"));
            offer(&u.access_key_id, code("useridentity.accesskeyid"));
            offer(&u.user_name, code("useridentity.username"));
            if let Some(ctx) = &u.session_context {
                if let Some(i) = &ctx.session_issuer {
                    offer(&i.kind, code("useridentity.sessioncontext.sessionissuer.type"));
                    offer(
                        &i.principal_id,
                        code("useridentity.sessioncontext.sessionissuer.principalid"),
                    );
                    offer(&i.arn, code("useridentity.sessioncontext.sessionissuer.arn"));
                    offer(
                        &i.account_id,
                        code("useridentity.sessioncontext.sessionissuer.accountid"),
                    );
                    offer(&i.user_name, code("useridentity.sessioncontext.sessionissuer.username"));
                }
                if let Some(a) = &ctx.attributes {
                    offer(
                        &a.mfa_authenticated,
                        code("useridentity.sessioncontext.attributes.mfaauthenticated"),
                    );
                    offer(
                        &a.creation_date,
                        code("useridentity.sessioncontext.attributes.creationdate"),
                    );
                }
            }
        }
        if let Some(t) = &ev.tls_details {
            offer(&t.tls_version, code("tlsdetails.tlsversion"));
            offer(&t.cipher_suite, code("tlsdetails.ciphersuite"));
            offer(&t.client_provided_host_header, code("tlsdetails.clienthostheader"));
        }
        if let Some(Text(Cow::Borrowed(t))) = &ev.event_time
            && is_formatted_event_time(event_time, t)
        {
            sp.offer(raw, t, code("eventtime"));
        }
        for (v, c) in [
            (ev.request_parameters, code("requestparameters")),
            (ev.response_elements, code("responseelements")),
            (ev.additional_event_data, code("additionaleventdata")),
            (ev.service_event_details, code("serviceeventdetails")),
            (ev.edge_device_details, code("edgedevicedetails")),
            (ev.insight_details, code("insightdetails")),
        ] {
            if let Some(v) = v {
                sp.offer(raw, v.get(), c);
            }
        }
        sp.write_template(raw, &mut self.eventtemplate);
        self.eventtemplate.append_value("");
    }

    fn push_identity(&mut self, ev: &RawEvent<'_>) {
        let id = &mut self.identity;
        let Some(u) = &ev.user_identity else {
            id.valid.append_null();
            for c in &mut id.leaves {
                c.append_null();
            }
            id.onbehalfof.push(None);
            push_session(&mut id.session, None);
            return;
        };
        id.valid.append_non_null();
        let leaves = [
            text(&u.kind),
            text(&u.principal_id),
            text(&u.arn),
            text(&u.account_id),
            text(&u.invoked_by),
            text(&u.access_key_id),
            text(&u.user_name),
            text(&u.identity_provider),
            text(&u.credential_id),
        ];
        for (c, v) in id.leaves.iter_mut().zip(leaves) {
            c.append_option(v);
        }
        match &u.on_behalf_of {
            Some(o) => id
                .onbehalfof
                .push(Some(&[text(&o.user_id), text(&o.identity_store_arn)])),
            None => id.onbehalfof.push(None),
        }
        push_session(&mut id.session, u.session_context.as_ref());
    }

    /// Returns the accumulated rows as a batch and resets the builder.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(35);
        columns.push(Arc::new(self.eventversion.finish()));
        columns.push(Arc::new(self.finish_identity()?));
        columns.push(Arc::new(self.eventtime.finish()));
        columns.extend(self.strings_a.iter_mut().map(|c| Arc::new(c.finish()) as ArrayRef));
        let offsets = std::mem::replace(&mut self.resources_offsets, vec![0]);
        columns.push(Arc::new(ListArray::try_new(
            schema::resources_item(),
            OffsetBuffer::new(offsets.into()),
            Arc::new(self.resources.finish()?),
            self.resources_valid.finish(),
        )?));
        columns.extend(self.strings_b.iter_mut().map(|c| Arc::new(c.finish()) as ArrayRef));
        columns.push(Arc::new(self.addendum.finish()?));
        columns.push(Arc::new(self.sessioncredentialfromconsole.finish()));
        columns.push(Arc::new(self.edgedevicedetails.finish()));
        columns.push(Arc::new(self.tlsdetails.finish()?));
        columns.push(Arc::new(self.managementevent.finish()));
        columns.push(Arc::new(self.insightdetails.finish()));
        columns.push(Arc::new(self.sourceobject.finish()));
        columns.push(Arc::new(self.sourceobjectid.finish()));
        columns.push(Arc::new(self.sourceindex.finish()));
        columns.push(Arc::new(self.eventtemplate.finish()));
        columns.push(Arc::new(self.eventdate.finish()));
        self.rows = 0;
        self.bytes = 0;
        RecordBatch::try_new(schema::parsed_schema(), columns)
    }

    fn finish_identity(&mut self) -> Result<StructArray, ArrowError> {
        let id = &mut self.identity;
        let mut arrays: Vec<ArrayRef> = id.leaves.iter_mut().map(|c| Arc::new(c.finish()) as ArrayRef).collect();
        arrays.push(Arc::new(id.onbehalfof.finish()?));
        let s = &mut id.session;
        let session = StructArray::try_new(
            schema::sessioncontext_fields(),
            vec![
                Arc::new(s.attributes.finish()?),
                Arc::new(s.issuer.finish()?),
                Arc::new(s.ec2roledelivery.finish()),
                Arc::new(s.webid.finish()?),
                Arc::new(s.sourceidentity.finish()),
            ],
            s.valid.finish(),
        )?;
        arrays.push(Arc::new(session));
        StructArray::try_new(schema::useridentity_fields(), arrays, id.valid.finish())
    }
}

fn push_session(s: &mut SessionContextCols, ctx: Option<&crate::model::SessionContext<'_>>) {
    let Some(c) = ctx else {
        s.valid.append_null();
        s.attributes.push(None);
        s.issuer.push(None);
        s.ec2roledelivery.append_null();
        s.webid.push(None);
        s.sourceidentity.append_null();
        return;
    };
    s.valid.append_non_null();
    match &c.attributes {
        Some(a) => s
            .attributes
            .push(Some(&[text(&a.mfa_authenticated), text(&a.creation_date)])),
        None => s.attributes.push(None),
    }
    match &c.session_issuer {
        Some(i) => s.issuer.push(Some(&[
            text(&i.kind),
            text(&i.principal_id),
            text(&i.arn),
            text(&i.account_id),
            text(&i.user_name),
        ])),
        None => s.issuer.push(None),
    }
    s.ec2roledelivery.append_option(text(&c.ec2_role_delivery));
    match &c.web_id_federation_data {
        Some(w) => {
            let attrs = json(w.attributes);
            s.webid.push(Some(&[text(&w.federated_provider), attrs.as_deref()]));
        }
        None => s.webid.push(None),
    }
    s.sourceidentity.append_option(text(&c.source_identity));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_only_pretty_json() {
        assert!(matches!(compact_json(r#"{"a":1}"#), Cow::Borrowed(_)));
        assert_eq!(
            compact_json("{\n  \"a b\": \"x \\\" y\",\n  \"c\": [1, 2]\n}"),
            r#"{"a b":"x \" y","c":[1,2]}"#
        );
    }
}
