//! Verifying AWS Signature Version 4 on a request, as AWS does: the canonical request is
//! rebuilt from what arrived (method, path, query, the headers the client says it signed,
//! the SHA-256 of the body), signed with the key derived from the secret of the access key
//! named in the credential scope, and compared in constant time with what the client sent.
//!
//! Everything here is pure (the clock is a parameter) so that AWS's published test vectors
//! can check it.

use ring::{digest, hmac};
use time::OffsetDateTime;
use time::macros::format_description;

/// The only algorithm AWS's SigV4 uses.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's `X-Amz-Date` may be from the server's clock, as AWS allows.
pub const MAX_SKEW: time::Duration = time::Duration::minutes(15);

/// The parts of a request that SigV4 signs.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `POST`, `GET`...
    pub method: &'a str,
    /// The path as sent (`/`).
    pub path: &'a str,
    /// The query string as sent, without `?` (empty when there is none).
    pub query: &'a str,
    /// Every header, name and value, as sent (a name may repeat).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: &'a [u8],
}

impl Request<'_> {
    /// The values of header `name` (case-insensitive), in order.
    fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// An `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`
/// header, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id of the credential scope.
    pub access_key_id: String,
    /// `YYYYMMDD` of the credential scope.
    pub date: String,
    /// The region of the credential scope (`us-east-1`).
    pub region: String,
    /// The service of the credential scope (`ecs`).
    pub service: String,
    /// The lowercase names of the signed headers, as the client listed them.
    pub signed_headers: Vec<String>,
    /// The signature, lowercase hex.
    pub signature: String,
}

impl Authorization {
    /// `DATE/REGION/SERVICE/aws4_request`.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

/// Why a request's signature was not accepted. Each maps to the error AWS answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// No `Authorization` header: the request is not signed.
    #[error("Missing Authentication Token")]
    Missing,
    /// The `Authorization` header or the date is malformed, or a header it names is missing.
    #[error("{0}")]
    Incomplete(String),
    /// No access key with this id.
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    /// The signature does not match what the secret signs.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
    )]
    Mismatch,
    /// `X-Amz-Date` is too far from the server's clock.
    #[error("Signature expired: {sent} is now earlier or later than {now} (15 minutes either way)")]
    Expired {
        /// The request's date.
        sent: String,
        /// The server's.
        now: String,
    },
}

/// Parses an `Authorization` header's value.
pub fn parse_authorization(value: &str) -> Result<Authorization, SigError> {
    let incomplete = |what: &str| {
        SigError::Incomplete(format!(
            "Authorization header requires {what} (AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, SignedHeaders=..., Signature=...)"
        ))
    };
    let rest = value
        .trim()
        .strip_prefix(ALGORITHM)
        .ok_or_else(|| incomplete("the algorithm AWS4-HMAC-SHA256"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let credential = credential.ok_or_else(|| incomplete("a 'Credential' parameter"))?;
    let signed = signed.ok_or_else(|| incomplete("a 'SignedHeaders' parameter"))?;
    let signature = signature.ok_or_else(|| incomplete("a 'Signature' parameter"))?;
    let parts: Vec<&str> = credential.split('/').collect();
    let [key, date, region, service, terminator] = parts[..] else {
        return Err(incomplete("a Credential of five parts"));
    };
    if terminator != "aws4_request" || date.len() != 8 || key.is_empty() || region.is_empty() {
        return Err(incomplete(
            "a Credential of the form KEY/YYYYMMDD/REGION/SERVICE/aws4_request",
        ));
    }
    Ok(Authorization {
        access_key_id: key.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers: signed.split(';').map(str::to_ascii_lowercase).collect(),
        signature: signature.to_ascii_lowercase(),
    })
}

/// RFC 3986 percent-encoding of everything but the unreserved characters (and `/` when
/// `keep_slash`), as SigV4 wants.
fn uri_encode(s: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes percent-encoding (and `+` stays `+`: SigV4 clients encode spaces as `%20`).
fn uri_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The canonical query string: every parameter decoded and re-encoded, sorted.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&uri_decode(k), false),
                uri_encode(&uri_decode(v), false),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header value as SigV4 canonicalizes it: trimmed, inner runs of spaces made one.
fn canonical_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

/// The canonical request of `req` for these signed headers (lowercase names). A signed
/// header the request does not carry is an error.
pub fn canonical_request(req: &Request<'_>, signed_headers: &[String]) -> Result<String, SigError> {
    let mut headers = String::new();
    for name in signed_headers {
        let values = req.header_values(name);
        if values.is_empty() {
            return Err(SigError::Incomplete(format!(
                "the signed header {name:?} is not in the request"
            )));
        }
        let joined: Vec<String> = values.iter().map(|v| canonical_value(v)).collect();
        headers.push_str(&format!("{name}:{}\n", joined.join(",")));
    }
    let path = if req.path.is_empty() { "/" } else { req.path };
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        uri_encode(path.as_bytes(), true),
        canonical_query(req.query),
        headers,
        signed_headers.join(";"),
        sha256_hex(req.body)
    ))
}

/// The string to sign: algorithm, request date, scope and the canonical request's hash.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
}

/// The signing key derived from a secret for one day, region and service.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> hmac::Key {
    let k = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac_sha256(k.as_ref(), region.as_bytes());
    let k = hmac_sha256(k.as_ref(), service.as_bytes());
    let k = hmac_sha256(k.as_ref(), b"aws4_request");
    hmac::Key::new(hmac::HMAC_SHA256, k.as_ref())
}

/// The signature (lowercase hex) of `string_to_sign` with `secret`, for the scope of `auth`.
pub fn signature(secret: &str, auth: &Authorization, string_to_sign: &str) -> String {
    let key = signing_key(secret, &auth.date, &auth.region, &auth.service);
    hex::encode(hmac::sign(&key, string_to_sign.as_bytes()))
}

/// Signs `req` as an AWS client does (the client side of [`verify`], for tests, benchmarks
/// and tools): returns the `Authorization` header's value for the access key `key_id` with
/// `secret`, scoped to `region` and `service`, signing every header `req` carries. `req`
/// must already hold `host` and `x-amz-date` (`amz_date`).
pub fn sign(
    req: &Request<'_>,
    key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    amz_date: &str,
) -> Result<String, SigError> {
    let mut signed: Vec<String> = req
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    signed.sort();
    signed.dedup();
    let canonical = canonical_request(req, &signed)?;
    let auth = Authorization {
        access_key_id: key_id.to_string(),
        date: amz_date.get(..8).unwrap_or_default().to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers: signed,
        signature: String::new(),
    };
    let to_sign = string_to_sign(amz_date, &auth.scope(), &canonical);
    Ok(format!(
        "{ALGORITHM} Credential={key_id}/{}, SignedHeaders={}, Signature={}",
        auth.scope(),
        auth.signed_headers.join(";"),
        signature(secret, &auth, &to_sign)
    ))
}

/// What a verified request was signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The access key id.
    pub access_key_id: String,
    /// The region of the credential scope: the region the client addresses.
    pub region: String,
}

/// Verifies `req`'s signature at `now`, finding the secret of an access key id with
/// `secret_of`.
pub fn verify<'s>(
    req: &Request<'_>,
    secret_of: impl Fn(&str) -> Option<&'s str>,
    now: OffsetDateTime,
) -> Result<Verified, SigError> {
    let header = req.header_values("authorization");
    let Some(header) = header.first() else {
        return Err(SigError::Missing);
    };
    let auth = parse_authorization(header)?;
    let amz_date = req
        .header_values("x-amz-date")
        .first()
        .map(|d| d.trim().to_string())
        .ok_or_else(|| {
            SigError::Incomplete("the X-Amz-Date header is required (YYYYMMDDTHHMMSSZ)".into())
        })?;
    let sent = parse_amz_date(&amz_date)?;
    if !amz_date.starts_with(&auth.date) {
        return Err(SigError::Incomplete(format!(
            "the Credential date {} is not the date of X-Amz-Date {amz_date}",
            auth.date
        )));
    }
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(SigError::Incomplete(
            "the host header must be signed (SignedHeaders=host;...)".into(),
        ));
    }
    if (sent - now).abs() > MAX_SKEW {
        return Err(SigError::Expired {
            sent: amz_date,
            now: format_amz_date(now),
        });
    }
    let secret = secret_of(&auth.access_key_id).ok_or(SigError::UnknownKey)?;
    let canonical = canonical_request(req, &auth.signed_headers)?;
    let to_sign = string_to_sign(&amz_date, &auth.scope(), &canonical);
    let key = signing_key(secret, &auth.date, &auth.region, &auth.service);
    let sent_signature = hex::decode(&auth.signature).map_err(|_| SigError::Mismatch)?;
    // ring compares in constant time.
    hmac::verify(&key, to_sign.as_bytes(), &sent_signature).map_err(|_| SigError::Mismatch)?;
    Ok(Verified {
        access_key_id: auth.access_key_id,
        region: auth.region,
    })
}

/// Parses `YYYYMMDDTHHMMSSZ`.
pub fn parse_amz_date(s: &str) -> Result<OffsetDateTime, SigError> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(s, format)
        .map(|d| d.assume_utc())
        .map_err(|_| SigError::Incomplete(format!("X-Amz-Date {s:?} is not YYYYMMDDTHHMMSSZ")))
}

/// Formats `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(t: OffsetDateTime) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    t.format(format).unwrap_or_default()
}

#[cfg(test)]
mod tests;
