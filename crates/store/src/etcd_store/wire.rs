//! The JSON of etcd's v3 API as its gateway speaks it (`POST /v3/kv/range`, `/v3/kv/txn`,
//! `/v3/watch`, `/v3/lease/*`): the protobuf messages in proto3's JSON mapping, with keys and
//! values in base64 and 64-bit integers as strings. Only the fields ecsctl uses are here;
//! fields an answer leaves out are zero, as in protobuf.

use serde::{Deserialize, Serialize};

/// Keys and values: bytes, base64 on the wire.
mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// int64 fields: strings in answers (numbers accepted too), numbers in requests.
mod int {
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Int {
        Text(String),
        Number(i64),
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        match Int::deserialize(d)? {
            Int::Number(n) => Ok(n),
            Int::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Every answer's header: the cluster's revision when it was served.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Header {
    #[serde(deserialize_with = "int::deserialize")]
    pub revision: i64,
}

/// One key as stored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct KeyValue {
    #[serde(deserialize_with = "b64::deserialize")]
    pub key: Vec<u8>,
    #[serde(deserialize_with = "int::deserialize")]
    pub mod_revision: i64,
    #[serde(deserialize_with = "b64::deserialize")]
    pub value: Vec<u8>,
    /// The lease the key is bound to (0: none).
    #[serde(deserialize_with = "int::deserialize")]
    pub lease: i64,
}

/// `RangeRequest`: one key, or `[key, range_end)`.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct RangeRequest {
    #[serde(serialize_with = "b64::serialize")]
    pub key: Vec<u8>,
    #[serde(
        serialize_with = "b64::serialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub range_end: Vec<u8>,
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: i64,
    /// Read as of this etcd revision (0: the latest).
    #[serde(skip_serializing_if = "is_zero")]
    pub revision: i64,
    #[serde(skip_serializing_if = "is_false")]
    pub keys_only: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub count_only: bool,
    /// Answered by the member from what it has applied, without asking the raft leader
    /// whether that is current (cheaper; right for reads pinned to a `revision` the member
    /// has seen).
    #[serde(skip_serializing_if = "is_false")]
    pub serializable: bool,
    /// `DESCEND`: the keys in reverse order (with `limit`, the last ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<&'static str>,
}

impl RangeRequest {
    /// One key.
    pub(crate) fn key(key: impl Into<Vec<u8>>) -> Self {
        RangeRequest {
            key: key.into(),
            ..Default::default()
        }
    }

    /// Every key starting with `prefix`.
    pub(crate) fn prefix(prefix: impl Into<Vec<u8>>) -> Self {
        let key = prefix.into();
        RangeRequest {
            range_end: prefix_end(&key),
            key,
            ..Default::default()
        }
    }

    /// Every key in `[from, end)`.
    pub(crate) fn between(from: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Self {
        RangeRequest {
            key: from.into(),
            range_end: end.into(),
            ..Default::default()
        }
    }

    /// Only the last key of the range (keys sort by their bytes).
    pub(crate) fn last_only(mut self) -> Self {
        self.sort_order = Some("DESCEND");
        self.limit = 1;
        self
    }

    /// As of etcd revision `revision`.
    pub(crate) fn at(mut self, revision: i64) -> Self {
        self.revision = revision;
        self
    }

    /// Pinned to etcd revision `revision` and answered by the member alone: a read of the
    /// past the member has applied needs no round to the raft leader.
    pub(crate) fn pinned(mut self, revision: i64) -> Self {
        self.revision = revision;
        self.serializable = true;
        self
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RangeResponse {
    pub header: Header,
    pub kvs: Vec<KeyValue>,
    pub more: bool,
    #[serde(deserialize_with = "int::deserialize")]
    pub count: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct PutRequest {
    #[serde(serialize_with = "b64::serialize")]
    pub key: Vec<u8>,
    #[serde(serialize_with = "b64::serialize")]
    pub value: Vec<u8>,
    #[serde(skip_serializing_if = "is_zero")]
    pub lease: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct DeleteRangeRequest {
    #[serde(serialize_with = "b64::serialize")]
    pub key: Vec<u8>,
    #[serde(
        serialize_with = "b64::serialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub range_end: Vec<u8>,
}

/// One operation of a transaction.
#[derive(Debug, Clone, Serialize)]
pub(crate) enum RequestOp {
    #[serde(rename = "request_range")]
    Range(RangeRequest),
    #[serde(rename = "request_put")]
    Put(PutRequest),
    #[serde(rename = "request_delete_range")]
    DeleteRange(DeleteRangeRequest),
}

impl RequestOp {
    pub(crate) fn put(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        RequestOp::Put(PutRequest {
            key: key.into(),
            value: value.into(),
            lease: 0,
        })
    }

    pub(crate) fn delete(key: impl Into<Vec<u8>>) -> Self {
        RequestOp::DeleteRange(DeleteRangeRequest {
            key: key.into(),
            range_end: Vec::new(),
        })
    }

    pub(crate) fn delete_between(from: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Self {
        RequestOp::DeleteRange(DeleteRangeRequest {
            key: from.into(),
            range_end: end.into(),
        })
    }
}

/// A condition of a transaction (always `EQUAL` here).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Compare {
    result: &'static str,
    target: &'static str,
    #[serde(serialize_with = "b64::serialize")]
    key: Vec<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mod_revision: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    create_revision: Option<i64>,
    #[serde(serialize_with = "b64_opt", skip_serializing_if = "Option::is_none")]
    value: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease: Option<i64>,
}

fn b64_opt<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    b64::serialize(v.as_deref().unwrap_or_default(), s)
}

impl Compare {
    /// The key was last modified at etcd revision `revision` (0: it does not exist).
    pub(crate) fn modified_at(key: impl Into<Vec<u8>>, revision: i64) -> Self {
        Compare {
            result: "EQUAL",
            target: "MOD",
            key: key.into(),
            mod_revision: Some(revision),
            create_revision: None,
            value: None,
            lease: None,
        }
    }

    /// The key does not exist.
    pub(crate) fn absent(key: impl Into<Vec<u8>>) -> Self {
        Compare {
            result: "EQUAL",
            target: "CREATE",
            key: key.into(),
            mod_revision: None,
            create_revision: Some(0),
            value: None,
            lease: None,
        }
    }

    /// The key is bound to lease `lease` (a lease id is never reused: it names one
    /// leadership).
    pub(crate) fn leased_by(key: impl Into<Vec<u8>>, lease: i64) -> Self {
        Compare {
            result: "EQUAL",
            target: "LEASE",
            key: key.into(),
            mod_revision: None,
            create_revision: None,
            value: None,
            lease: Some(lease),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct TxnRequest {
    pub compare: Vec<Compare>,
    pub success: Vec<RequestOp>,
    pub failure: Vec<RequestOp>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TxnResponse {
    pub header: Header,
    pub succeeded: bool,
    pub responses: Vec<ResponseOp>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ResponseOp {
    pub response_range: Option<RangeResponse>,
}

impl TxnResponse {
    /// The answer of the `i`th operation, if it was a range.
    pub(crate) fn range(&self, i: usize) -> Option<&RangeResponse> {
        self.responses
            .get(i)
            .and_then(|r| r.response_range.as_ref())
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct WatchRequest {
    pub create_request: WatchCreateRequest,
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct WatchCreateRequest {
    #[serde(serialize_with = "b64::serialize")]
    pub key: Vec<u8>,
    #[serde(
        serialize_with = "b64::serialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub range_end: Vec<u8>,
    #[serde(skip_serializing_if = "is_zero")]
    pub start_revision: i64,
}

/// One message of a watch stream: a result, or the error that ended the stream.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct WatchMessage {
    pub result: Option<WatchResult>,
    pub error: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct WatchResult {
    pub header: Header,
    pub created: bool,
    pub canceled: bool,
    #[serde(deserialize_with = "int::deserialize")]
    pub compact_revision: i64,
    pub cancel_reason: String,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Event {
    /// `PUT` (left out: the zero value) or `DELETE`.
    #[serde(rename = "type")]
    pub kind: String,
    pub kv: KeyValue,
}

impl Event {
    pub(crate) fn is_put(&self) -> bool {
        self.kind.is_empty() || self.kind == "PUT"
    }
}

#[derive(Debug, Clone, Serialize)]
#[allow(non_snake_case)]
pub(crate) struct LeaseGrantRequest {
    pub TTL: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[allow(non_snake_case)]
pub(crate) struct LeaseGrantResponse {
    #[serde(deserialize_with = "int::deserialize")]
    pub ID: i64,
    #[serde(deserialize_with = "int::deserialize")]
    pub TTL: i64,
    pub error: String,
}

#[derive(Debug, Clone, Serialize)]
#[allow(non_snake_case)]
pub(crate) struct LeaseId {
    pub ID: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LeaseKeepAliveMessage {
    pub result: Option<LeaseGrantResponse>,
}

/// `POST /v3/maintenance/status`: the member's version and whom it follows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct StatusResponse {
    pub header: Header,
    pub version: String,
}

/// The first key after every key that starts with `prefix` (etcd's `range_end` for a prefix).
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte was 0xff: the range runs to the end of the key space.
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"/ecsctl/o/"), b"/ecsctl/o0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
    }

    #[test]
    fn requests_and_answers_in_the_gateways_json() {
        let txn = TxnRequest {
            compare: vec![Compare::modified_at("k", 0)],
            success: vec![RequestOp::put("k", "v")],
            failure: vec![RequestOp::Range(RangeRequest::prefix("p/"))],
        };
        let json = serde_json::to_value(&txn).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "compare": [{"result": "EQUAL", "target": "MOD", "key": "aw==", "mod_revision": 0}],
                "success": [{"request_put": {"key": "aw==", "value": "dg=="}}],
                "failure": [{"request_range": {"key": "cC8=", "range_end": "cDA="}}],
            })
        );
        // Zero values are left out of answers: `succeeded` false, a PUT event's type.
        let answer: TxnResponse = serde_json::from_str(
            r#"{"header":{"revision":"7"},"responses":[{"response_range":{"header":{"revision":"7"},"kvs":[{"key":"aw==","mod_revision":"5","value":"dg=="}],"count":"1"}}]}"#,
        )
        .unwrap();
        assert!(!answer.succeeded);
        assert_eq!(answer.header.revision, 7);
        let kv = &answer.range(0).unwrap().kvs[0];
        assert_eq!((kv.key.as_slice(), kv.mod_revision), (&b"k"[..], 5));
        let event: Event = serde_json::from_str(r#"{"kv":{"key":"aw=="}}"#).unwrap();
        assert!(event.is_put());
    }
}
