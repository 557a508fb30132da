//! Reads and writes through a member's JSON gateway (`/v3/kv/...`), where keys and values
//! travel base64-encoded. Tests use it to check what ecsctl wrote without an etcd client of
//! their own, and to reach one particular member (a client library would pick any).

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::{HarnessError, http};

/// Generous next to etcd's own request timeout, short next to a test's.
const TIMEOUT: Duration = Duration::from_secs(10);

/// `POST /v3/kv/put`.
pub(crate) fn put(addr: SocketAddr, key: &[u8], value: &[u8]) -> Result<(), HarnessError> {
    call(
        addr,
        "/v3/kv/put",
        &json!({"key": B64.encode(key), "value": B64.encode(value)}),
    )
    .map(drop)
}

/// `POST /v3/kv/range` of one key: its value, or `None` when there is no such key.
pub(crate) fn get(addr: SocketAddr, key: &[u8]) -> Result<Option<Vec<u8>>, HarnessError> {
    let path = "/v3/kv/range";
    let reply = call(addr, path, &json!({"key": B64.encode(key)}))?;
    let Some(kv) = reply["kvs"].as_array().and_then(|kvs| kvs.first()) else {
        return Ok(None);
    };
    // proto3's JSON mapping leaves out empty fields: a key with an empty value has no "value".
    let encoded = kv["value"].as_str().unwrap_or_default();
    B64.decode(encoded)
        .map(Some)
        .map_err(|e| HarnessError::Gateway {
            endpoint: addr.to_string(),
            path: path.to_string(),
            status: 200,
            body: format!("value is not base64 ({e}): {reply}"),
        })
}

/// `POST path` with a JSON request; the JSON reply of a 200, else [`HarnessError::Gateway`].
pub(crate) fn call(addr: SocketAddr, path: &str, request: &Value) -> Result<Value, HarnessError> {
    let response = http::post_json(addr, path, request.to_string().as_bytes(), TIMEOUT)?;
    let body = String::from_utf8_lossy(&response.body).into_owned();
    let gateway_error = |body: String| HarnessError::Gateway {
        endpoint: addr.to_string(),
        path: path.to_string(),
        status: response.status,
        body,
    };
    if response.status != 200 {
        return Err(gateway_error(body));
    }
    serde_json::from_str(&body).map_err(|e| gateway_error(format!("not JSON ({e}): {body}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::test_server::one_shot;

    fn request_body(request: &[u8]) -> Value {
        let text = String::from_utf8_lossy(request);
        let (_, body) = text.split_once("\r\n\r\n").unwrap();
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn put_sends_base64_key_and_value() {
        let (addr, server) = one_shot(b"HTTP/1.0 200 OK\r\n\r\n{\"header\":{\"revision\":\"2\"}}");
        put(addr, b"/ecsctl/k", b"\x00v").unwrap();
        let request = server.join().unwrap();
        assert!(request.starts_with(b"POST /v3/kv/put "));
        assert_eq!(
            request_body(&request),
            json!({"key": "L2Vjc2N0bC9r", "value": "AHY="})
        );
    }

    #[test]
    fn get_decodes_the_value_and_tells_absent_from_empty() {
        let (addr, server) =
            one_shot(b"HTTP/1.0 200 OK\r\n\r\n{\"kvs\":[{\"key\":\"aw==\",\"value\":\"dg==\"}],\"count\":\"1\"}");
        assert_eq!(get(addr, b"k").unwrap(), Some(b"v".to_vec()));
        assert_eq!(
            request_body(&server.join().unwrap()),
            json!({"key": "aw=="})
        );

        let (addr, _server) = one_shot(b"HTTP/1.0 200 OK\r\n\r\n{\"header\":{}}");
        assert_eq!(get(addr, b"k").unwrap(), None);

        let (addr, _server) = one_shot(b"HTTP/1.0 200 OK\r\n\r\n{\"kvs\":[{\"key\":\"aw==\"}]}");
        assert_eq!(get(addr, b"k").unwrap(), Some(Vec::new()));
    }

    #[test]
    fn refusals_carry_status_and_etcds_message() {
        let (addr, _server) = one_shot(
            b"HTTP/1.0 503 Service Unavailable\r\n\r\n{\"error\":\"etcdserver: no leader\",\"code\":14}",
        );
        let err = put(addr, b"k", b"v").unwrap_err();
        assert!(
            matches!(&err, HarnessError::Gateway { status: 503, path, body, .. } if path == "/v3/kv/put" && body.contains("no leader")),
            "{err}"
        );

        let (addr, _server) = one_shot(b"HTTP/1.0 200 OK\r\n\r\nnot json");
        let err = get(addr, b"k").unwrap_err();
        assert!(err.to_string().contains("not JSON"), "{err}");
    }
}
