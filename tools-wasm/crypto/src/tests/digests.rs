//! sha256, hmac, generate_key, encode and decode through the actions.

use llmagent_guest::{Output, ToolError};
use serde_json::json;

use super::{call, ok, text};

#[test]
fn sha256_default_is_lower_hex_with_seed_metadata() {
    assert_eq!(
        ok("sha256", json!({"data": "hello"})),
        Output::new("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
            .meta("algorithm", "sha256")
            .meta("encoding", "base16")
            .meta("binary", false)
    );
}

#[test]
fn sha256_in_every_encoding() {
    let cases = [
        (
            "base64",
            "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
            false,
        ),
        (
            "base64url",
            "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ",
            false,
        ),
        (
            "base58",
            "42TEXg1vFAbcJ65y7qdYG9iCPvYfy3NDdVLd75akX2P5",
            false,
        ),
        ("raw", "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=", true),
    ];
    for (encoding, want, binary) in cases {
        assert_eq!(
            ok("sha256", json!({"data": "hello", "encoding": encoding})),
            Output::new(want)
                .meta("algorithm", "sha256")
                .meta("encoding", encoding)
                .meta("binary", binary),
            "{encoding}"
        );
    }
}

#[test]
fn hmac_rfc4231_case_2() {
    assert_eq!(
        ok(
            "hmac",
            json!({"key": "Jefe", "data": "what do ya want for nothing?"})
        ),
        Output::new("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
            .meta("algorithm", "hmac-sha256")
            .meta("encoding", "base16")
            .meta("binary", false)
    );
}

#[test]
fn unknown_encoding_is_invalid_args_not_a_crash() {
    let want = ToolError::invalid_args(
        "encoding",
        "unknown encoding \"hex\"; `encoding` must be one of: base16, base64, base64url, base58, raw",
    );
    assert_eq!(
        call("sha256", json!({"data": "x", "encoding": "hex"})),
        Err(want.clone())
    );
    assert_eq!(
        call("hmac", json!({"key": "k", "data": "x", "encoding": "hex"})),
        Err(want.clone())
    );
    assert_eq!(
        call("generate_key", json!({"encoding": "hex"})),
        Err(want.clone())
    );
    assert_eq!(
        call("encode", json!({"data": "x", "encoding": "hex"})),
        Err(want.clone())
    );
    assert_eq!(
        call("decode", json!({"data": "x", "encoding": "hex"})),
        Err(want)
    );
}

#[test]
fn generate_key_defaults_to_256_bits_of_padded_base64() {
    let out = ok("generate_key", json!({}));
    assert_eq!(
        out.metadata(),
        Output::new(0)
            .meta("type", "symmetric")
            .meta("bits", 256)
            .meta("encoding", "base64")
            .meta("binary", false)
            .metadata()
    );
    assert_eq!(text(&out).len(), 44);
    assert_eq!(
        crate::encoding::Encoding::Base64
            .decode(text(&out))
            .map(|k| k.len()),
        Ok(32)
    );
    assert_ne!(ok("generate_key", json!({})).output(), out.output());
}

#[test]
fn generate_key_128_bits_in_hex() {
    let out = ok("generate_key", json!({"bits": 128, "encoding": "base16"}));
    assert_eq!(text(&out).len(), 32);
    assert_eq!(out.metadata().get("bits"), Some(&json!(128)));
}

#[test]
fn generate_key_rejects_other_sizes() {
    assert_eq!(
        call("generate_key", json!({"bits": 512})),
        Err(ToolError::invalid_args(
            "bits",
            "argument `bits` must be 128 or 256, got 512"
        ))
    );
}

#[test]
fn encode_and_decode_every_encoding() {
    for (encoding, encoded) in [
        ("base16", "48656c6c6f20576f726c6421"),
        ("base64", "SGVsbG8gV29ybGQh"),
        ("base64url", "SGVsbG8gV29ybGQh"),
        ("base58", "2NEpo7TZRRrLZSi2U"),
        ("raw", "Hello World!"),
    ] {
        assert_eq!(
            ok(
                "encode",
                json!({"data": "Hello World!", "encoding": encoding})
            ),
            Output::new(encoded).meta("encoding", encoding)
        );
        assert_eq!(
            ok("decode", json!({"data": encoded, "encoding": encoding})),
            Output::new("Hello World!")
                .meta("encoding", encoding)
                .meta("binary", false)
        );
    }
    assert_eq!(
        ok(
            "encode",
            json!({"data": "\u{fbff}", "encoding": "base64url"})
        )
        .output(),
        &json!("76-_")
    );
}

#[test]
fn decode_of_binary_bytes_is_flagged_base64() {
    assert_eq!(
        ok("decode", json!({"data": "11FF", "encoding": "base16"})),
        Output::new("Ef8=")
            .meta("encoding", "base16")
            .meta("binary", true)
    );
    assert_eq!(
        ok("decode", json!({"data": "-_8", "encoding": "base64url"})),
        Output::new("+/8=")
            .meta("encoding", "base64url")
            .meta("binary", true)
    );
}

#[test]
fn decode_of_malformed_input_is_invalid_args_on_data() {
    let err = call("decode", json!({"data": "abc", "encoding": "base64"})).unwrap_err();
    assert_eq!(
        (err.reason.as_str(), err.field.as_deref()),
        ("invalid_args", Some("data"))
    );
    assert!(
        err.message
            .starts_with("`data` is not valid base64 (standard alphabet"),
        "{}",
        err.message
    );
    assert_eq!(
        call("decode", json!({"data": "0OIl", "encoding": "base58"})),
        Err(ToolError::invalid_args(
            "data",
            "`data` is not valid base58 (Bitcoin alphabet): provided string contained invalid character '0' at byte 0"
        ))
    );
}
