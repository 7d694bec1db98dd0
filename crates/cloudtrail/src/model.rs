//! The CloudTrail record as written by AWS, borrowed from the input buffer.
//!
//! Every field is optional and lenient: a scalar where a string is expected (for example
//! `"readOnly": true` versus `"readOnly": "true"`) is kept as its text, so an odd record never
//! fails for a field we only store. Unknown fields are ignored here because the whole record is
//! kept verbatim in `rawevent`. Lowercase spellings (`eventname`) are accepted as aliases.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// A scalar kept as text: strings as they are, numbers and booleans as their JSON text, and
/// (rarely) objects or arrays as compact JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl Text<'_> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor(PhantomData))
    }
}

struct TextVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or scalar")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(if v { "true" } else { "false" })))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_string())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_string())))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Text(Cow::Owned(v.to_string())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Text(Cow::Owned(v.to_string())))
    }
}

pub type OptText<'a> = Option<Text<'a>>;

/// One JSON value whose text is stored as-is (`requestparameters` and friends).
pub type Json<'a> = Option<&'a RawValue>;

#[derive(Debug, Default, Deserialize)]
pub struct RawEvent<'a> {
    #[serde(borrow, rename = "eventVersion", alias = "eventversion")]
    pub event_version: OptText<'a>,
    #[serde(borrow, rename = "userIdentity", alias = "useridentity")]
    pub user_identity: Option<UserIdentity<'a>>,
    #[serde(borrow, rename = "eventTime", alias = "eventtime")]
    pub event_time: OptText<'a>,
    #[serde(borrow, rename = "eventSource", alias = "eventsource")]
    pub event_source: OptText<'a>,
    #[serde(borrow, rename = "eventName", alias = "eventname")]
    pub event_name: OptText<'a>,
    #[serde(borrow, rename = "awsRegion", alias = "awsregion")]
    pub aws_region: OptText<'a>,
    #[serde(borrow, rename = "sourceIPAddress", alias = "sourceipaddress")]
    pub source_ip_address: OptText<'a>,
    #[serde(borrow, rename = "userAgent", alias = "useragent")]
    pub user_agent: OptText<'a>,
    #[serde(borrow, rename = "errorCode", alias = "errorcode")]
    pub error_code: OptText<'a>,
    #[serde(borrow, rename = "errorMessage", alias = "errormessage")]
    pub error_message: OptText<'a>,
    #[serde(borrow, rename = "requestParameters", alias = "requestparameters")]
    pub request_parameters: Json<'a>,
    #[serde(borrow, rename = "responseElements", alias = "responseelements")]
    pub response_elements: Json<'a>,
    #[serde(borrow, rename = "additionalEventData", alias = "additionaleventdata")]
    pub additional_event_data: Json<'a>,
    #[serde(borrow, rename = "requestID", alias = "requestid")]
    pub request_id: OptText<'a>,
    #[serde(borrow, rename = "eventID", alias = "eventid")]
    pub event_id: OptText<'a>,
    #[serde(borrow, default)]
    pub resources: Option<Vec<Resource<'a>>>,
    #[serde(borrow, rename = "eventType", alias = "eventtype")]
    pub event_type: OptText<'a>,
    #[serde(borrow, rename = "apiVersion", alias = "apiversion")]
    pub api_version: OptText<'a>,
    #[serde(borrow, rename = "readOnly", alias = "readonly")]
    pub read_only: OptText<'a>,
    #[serde(borrow, rename = "recipientAccountId", alias = "recipientaccountid")]
    pub recipient_account_id: OptText<'a>,
    #[serde(borrow, rename = "serviceEventDetails", alias = "serviceeventdetails")]
    pub service_event_details: Json<'a>,
    #[serde(borrow, rename = "sharedEventID", alias = "sharedeventid")]
    pub shared_event_id: OptText<'a>,
    #[serde(borrow, rename = "vpcEndpointId", alias = "vpcendpointid")]
    pub vpc_endpoint_id: OptText<'a>,
    #[serde(borrow, rename = "vpcEndpointAccountId", alias = "vpcendpointaccountid")]
    pub vpc_endpoint_account_id: OptText<'a>,
    #[serde(borrow, rename = "eventCategory", alias = "eventcategory")]
    pub event_category: OptText<'a>,
    #[serde(borrow)]
    pub addendum: Option<Addendum<'a>>,
    #[serde(
        borrow,
        rename = "sessionCredentialFromConsole",
        alias = "sessioncredentialfromconsole"
    )]
    pub session_credential_from_console: OptText<'a>,
    #[serde(borrow, rename = "edgeDeviceDetails", alias = "edgedevicedetails")]
    pub edge_device_details: Json<'a>,
    #[serde(borrow, rename = "tlsDetails", alias = "tlsdetails")]
    pub tls_details: Option<TlsDetails<'a>>,
    #[serde(borrow, rename = "managementEvent", alias = "managementevent")]
    pub management_event: OptText<'a>,
    #[serde(borrow, rename = "insightDetails", alias = "insightdetails")]
    pub insight_details: Json<'a>,

    // Envelope fields: not part of a record, they tell what else an element is.
    /// LookupEvents output: the record as an embedded JSON string.
    #[serde(borrow, rename = "CloudTrailEvent")]
    pub cloudtrail_event: OptText<'a>,
    /// Digest files have this and no `eventTime`.
    #[serde(rename = "digestStartTime")]
    pub digest_start_time: Option<IgnoredAny>,
    /// A delivery file or LookupEvents response whose array is not the first member.
    #[serde(borrow, rename = "Records")]
    pub records: Option<Vec<&'a RawValue>>,
    #[serde(borrow, rename = "Events")]
    pub events: Option<Vec<&'a RawValue>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct UserIdentity<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: OptText<'a>,
    #[serde(borrow, rename = "principalId", alias = "principalid")]
    pub principal_id: OptText<'a>,
    #[serde(borrow)]
    pub arn: OptText<'a>,
    #[serde(borrow, rename = "accountId", alias = "accountid")]
    pub account_id: OptText<'a>,
    #[serde(borrow, rename = "invokedBy", alias = "invokedby")]
    pub invoked_by: OptText<'a>,
    #[serde(borrow, rename = "accessKeyId", alias = "accesskeyid")]
    pub access_key_id: OptText<'a>,
    #[serde(borrow, rename = "userName", alias = "username")]
    pub user_name: OptText<'a>,
    #[serde(borrow, rename = "identityProvider", alias = "identityprovider")]
    pub identity_provider: OptText<'a>,
    #[serde(borrow, rename = "credentialId", alias = "credentialid")]
    pub credential_id: OptText<'a>,
    #[serde(borrow, rename = "onBehalfOf", alias = "onbehalfof")]
    pub on_behalf_of: Option<OnBehalfOf<'a>>,
    #[serde(borrow, rename = "sessionContext", alias = "sessioncontext")]
    pub session_context: Option<SessionContext<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct OnBehalfOf<'a> {
    #[serde(borrow, rename = "userId", alias = "userid")]
    pub user_id: OptText<'a>,
    #[serde(borrow, rename = "identityStoreArn", alias = "identitystorearn")]
    pub identity_store_arn: OptText<'a>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SessionContext<'a> {
    #[serde(borrow)]
    pub attributes: Option<SessionAttributes<'a>>,
    #[serde(borrow, rename = "sessionIssuer", alias = "sessionissuer")]
    pub session_issuer: Option<SessionIssuer<'a>>,
    #[serde(borrow, rename = "ec2RoleDelivery", alias = "ec2roledelivery")]
    pub ec2_role_delivery: OptText<'a>,
    #[serde(borrow, rename = "webIdFederationData", alias = "webidfederationdata")]
    pub web_id_federation_data: Option<WebIdFederationData<'a>>,
    #[serde(borrow, rename = "sourceIdentity", alias = "sourceidentity")]
    pub source_identity: OptText<'a>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SessionAttributes<'a> {
    #[serde(borrow, rename = "mfaAuthenticated", alias = "mfaauthenticated")]
    pub mfa_authenticated: OptText<'a>,
    #[serde(borrow, rename = "creationDate", alias = "creationdate")]
    pub creation_date: OptText<'a>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SessionIssuer<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: OptText<'a>,
    #[serde(borrow, rename = "principalId", alias = "principalid")]
    pub principal_id: OptText<'a>,
    #[serde(borrow)]
    pub arn: OptText<'a>,
    #[serde(borrow, rename = "accountId", alias = "accountid")]
    pub account_id: OptText<'a>,
    #[serde(borrow, rename = "userName", alias = "username")]
    pub user_name: OptText<'a>,
}

#[derive(Debug, Default, Deserialize)]
pub struct WebIdFederationData<'a> {
    #[serde(borrow, rename = "federatedProvider", alias = "federatedprovider")]
    pub federated_provider: OptText<'a>,
    #[serde(borrow)]
    pub attributes: Json<'a>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Resource<'a> {
    #[serde(borrow, rename = "ARN", alias = "arn")]
    pub arn: OptText<'a>,
    #[serde(borrow, rename = "accountId", alias = "accountid")]
    pub account_id: OptText<'a>,
    #[serde(borrow, rename = "type")]
    pub kind: OptText<'a>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Addendum<'a> {
    #[serde(borrow)]
    pub reason: OptText<'a>,
    #[serde(borrow, rename = "updatedFields", alias = "updatedfields")]
    pub updated_fields: OptText<'a>,
    #[serde(borrow, rename = "originalRequestID", alias = "originalrequestid")]
    pub original_request_id: OptText<'a>,
    #[serde(borrow, rename = "originalEventID", alias = "originaleventid")]
    pub original_event_id: OptText<'a>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TlsDetails<'a> {
    #[serde(borrow, rename = "tlsVersion", alias = "tlsversion")]
    pub tls_version: OptText<'a>,
    #[serde(borrow, rename = "cipherSuite", alias = "ciphersuite")]
    pub cipher_suite: OptText<'a>,
    #[serde(borrow, rename = "clientProvidedHostHeader", alias = "clientprovidedhostheader")]
    pub client_provided_host_header: OptText<'a>,
}
