//! Checked against AWS's published SigV4 test suite (aws-sig-v4-test-suite: credential
//! `AKIDEXAMPLE`, secret `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`, scope
//! `20150830/us-east-1/service/aws4_request`).
#![allow(clippy::unwrap_used)]

use super::*;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const DATE: &str = "20150830T123600Z";

fn vector_auth(signed: &str, signature: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders={signed}, Signature={signature}"
    )
}

fn request<'a>(method: &'a str, query: &'a str, auth: Option<String>) -> Request<'a> {
    let mut headers = vec![
        ("Host".to_string(), "example.amazonaws.com".to_string()),
        ("X-Amz-Date".to_string(), DATE.to_string()),
    ];
    if let Some(a) = auth {
        headers.push(("Authorization".to_string(), a));
    }
    Request {
        method,
        path: "/",
        query,
        headers,
        body: b"",
    }
}

fn at_vector_time() -> OffsetDateTime {
    parse_amz_date(DATE).unwrap()
}

fn secrets(id: &str) -> Option<&'static str> {
    (id == "AKIDEXAMPLE").then_some(SECRET)
}

#[test]
fn get_vanilla_canonical_request_and_signature() {
    let req = request("GET", "", None);
    let signed = vec!["host".to_string(), "x-amz-date".to_string()];
    let canonical = canonical_request(&req, &signed).unwrap();
    assert_eq!(
        canonical,
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    let req = request("GET", "", Some(vector_auth("host;x-amz-date", sig)));
    let verified = verify(&req, secrets, at_vector_time()).unwrap();
    assert_eq!(verified.access_key_id, "AKIDEXAMPLE");
    assert_eq!(verified.region, "us-east-1");
}

#[test]
fn post_vanilla_and_sorted_query_vectors_verify() {
    let post = request(
        "POST",
        "",
        Some(vector_auth(
            "host;x-amz-date",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        )),
    );
    verify(&post, secrets, at_vector_time()).unwrap();
    let query = request(
        "GET",
        "Param2=value2&Param1=value1",
        Some(vector_auth(
            "host;x-amz-date",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        )),
    );
    verify(&query, secrets, at_vector_time()).unwrap();
}

#[test]
fn a_changed_signature_body_or_key_is_refused() {
    let sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    let mut tampered = request("GET", "", Some(vector_auth("host;x-amz-date", sig)));
    tampered.body = b"{}";
    assert_eq!(
        verify(&tampered, secrets, at_vector_time()),
        Err(SigError::Mismatch)
    );
    let wrong = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf30";
    let req = request("GET", "", Some(vector_auth("host;x-amz-date", wrong)));
    assert_eq!(
        verify(&req, secrets, at_vector_time()),
        Err(SigError::Mismatch)
    );
    let req = request("GET", "", Some(vector_auth("host;x-amz-date", sig)));
    assert_eq!(
        verify(&req, |_| None, at_vector_time()),
        Err(SigError::UnknownKey)
    );
}

#[test]
fn unsigned_stale_and_malformed_requests_are_refused() {
    assert_eq!(
        verify(&request("GET", "", None), secrets, at_vector_time()),
        Err(SigError::Missing)
    );
    let sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    let req = request("GET", "", Some(vector_auth("host;x-amz-date", sig)));
    let later = at_vector_time() + time::Duration::minutes(16);
    assert!(matches!(
        verify(&req, secrets, later),
        Err(SigError::Expired { .. })
    ));
    let within = at_vector_time() - time::Duration::minutes(14);
    verify(&req, secrets, within).unwrap();
    let req = request("GET", "", Some(vector_auth("x-amz-date", sig)));
    assert!(matches!(
        verify(&req, secrets, at_vector_time()),
        Err(SigError::Incomplete(_))
    ));
    let req = request(
        "GET",
        "",
        Some("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE".into()),
    );
    assert!(matches!(
        verify(&req, secrets, at_vector_time()),
        Err(SigError::Incomplete(_))
    ));
}

#[test]
fn query_parameters_are_decoded_reencoded_and_sorted() {
    assert_eq!(canonical_query("b=2&a=x%2fy&a=%41"), "a=A&a=x%2Fy&b=2");
    assert_eq!(canonical_query(""), "");
    assert_eq!(canonical_value("  a   b  c "), "a b c");
}

#[test]
fn sign_gives_the_vector_signature_and_verifies() {
    let req = request("GET", "", None);
    let auth = sign(&req, "AKIDEXAMPLE", SECRET, "us-east-1", "service", DATE).unwrap();
    assert_eq!(
        auth,
        vector_auth(
            "host;x-amz-date",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        )
    );
    let signed = request("GET", "", Some(auth));
    assert!(verify(&signed, secrets, at_vector_time()).is_ok());
}
