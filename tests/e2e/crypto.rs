//! The built-in `crypto` tool through the runtime, against published
//! vectors: sha256("hello"), RFC 4231 HMAC-SHA-256, RFC 8032 Ed25519 test 1.

use serde_json::json;

use crate::harness::Env;

const POLICY: &str = r#"
version = 1
[roles.default]
tools = ["crypto"]
"#;

fn b64(hex_text: &str) -> String {
    use std::fmt::Write;
    let bytes: Vec<u8> = (0..hex_text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex_text[i..i + 2], 16).unwrap())
        .collect();
    // Standard base64 with padding, written out to keep the test free of
    // the code under test.
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = out.write_char(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn sha256_of_hello() {
    let env = Env::new(POLICY);
    let (output, metadata) = env.ok("default", "crypto", "sha256", json!({"data": "hello"}));
    assert_eq!(
        output,
        json!("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    );
    assert_eq!(
        metadata,
        json!({"algorithm": "sha256", "encoding": "base16", "binary": false})
    );
}

#[test]
fn hmac_sha256_rfc4231_case_2() {
    let env = Env::new(POLICY);
    let (output, metadata) = env.ok(
        "default",
        "crypto",
        "hmac",
        json!({"key": "Jefe", "data": "what do ya want for nothing?"}),
    );
    assert_eq!(
        output,
        json!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    );
    assert_eq!(
        metadata,
        json!({"algorithm": "hmac-sha256", "encoding": "base16", "binary": false})
    );
}

#[test]
fn ed25519_rfc8032_test_1_sign_and_verify() {
    let env = Env::new(POLICY);
    let secret = b64("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    let public = b64("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    let signature = b64(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    );
    let (output, metadata) = env.ok(
        "default",
        "crypto",
        "sign",
        json!({"type": "ed25519", "data": "", "private_key": secret}),
    );
    assert_eq!(output, json!(signature));
    assert_eq!(metadata, json!({"type": "ed25519", "action": "sign"}));
    let verify = |data: &str| {
        env.ok(
            "default",
            "crypto",
            "verify",
            json!({"type": "ed25519", "data": data, "signature": signature, "public_key": public}),
        )
        .0
    };
    assert_eq!(verify(""), json!(true));
    assert_eq!(verify("tampered"), json!(false));
}

#[test]
fn generated_keypairs_sign_and_verify_through_the_sandbox() {
    let env = Env::new(POLICY);
    for ty in ["ed25519", "ecdsa"] {
        let (pair, _) = env.ok("default", "crypto", "generate_keypair", json!({"type": ty}));
        let (sig, _) = env.ok(
            "default",
            "crypto",
            "sign",
            json!({"type": ty, "data": "payload", "private_key": pair["private_key"]}),
        );
        let (ok, _) = env.ok(
            "default",
            "crypto",
            "verify",
            json!({"type": ty, "data": "payload", "signature": sig, "public_key": pair["public_key"]}),
        );
        assert_eq!(ok, json!(true), "{ty} round trip");
    }
    let (a, _) = env.ok("default", "crypto", "generate_key", json!({}));
    let (b, _) = env.ok("default", "crypto", "generate_key", json!({}));
    assert_ne!(a, b, "two keys from WASI random must differ");
}

#[test]
fn bad_keys_and_encodings_are_errors_never_crashes() {
    let env = Env::new(POLICY);
    let short = env.err(
        "default",
        "crypto",
        "sign",
        json!({"type": "ed25519", "data": "x", "private_key": "AAAA"}),
    );
    assert_eq!(
        (short.reason.as_str(), short.field.as_deref()),
        ("invalid_key", Some("private_key"))
    );
    let enc = env.err(
        "default",
        "crypto",
        "sha256",
        json!({"data": "x", "encoding": "rot13"}),
    );
    assert_eq!(
        (enc.reason.as_str(), enc.field.as_deref()),
        ("invalid_args", Some("encoding"))
    );
    let b58 = env.err(
        "default",
        "crypto",
        "decode",
        json!({"data": "0OIl", "encoding": "base58"}),
    );
    assert_eq!(
        (b58.reason.as_str(), b58.field.as_deref()),
        ("invalid_args", Some("data"))
    );
    // The runtime is unharmed.
    assert_eq!(
        env.ok(
            "default",
            "crypto",
            "encode",
            json!({"data": "hi", "encoding": "base16"})
        )
        .0,
        json!("6869")
    );
}
