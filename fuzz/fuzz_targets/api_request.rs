//! Arbitrary bytes as the body of `POST /v1/apply`: the server's decoder must never panic,
//! must answer every refusal with a message, and what it accepts must encode and decode to
//! the same objects.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match server::decode_apply_request(data) {
        Ok(objects) => {
            for o in &objects {
                assert!(o.kind.is_user_writable(), "accepted a {} object", o.kind);
            }
            let body = serde_json::json!({ "objects": objects }).to_string();
            match server::decode_apply_request(body.as_bytes()) {
                Ok(again) => assert_eq!(again, objects, "re-encoding changed the objects"),
                Err(e) => panic!("our own encoding is refused: {e:?}\n{body}"),
            }
        }
        Err((error, details)) => {
            assert!(!error.is_empty(), "a refusal without a message");
            assert!(details.iter().all(|d| !d.is_empty()), "an empty detail");
        }
    }
});
