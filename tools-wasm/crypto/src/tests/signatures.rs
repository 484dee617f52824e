//! generate_keypair, sign and verify through the actions. The OpenSSL
//! fixtures were made with OpenSSL 3 (`genpkey -algorithm ed25519`,
//! `ecparam -name prime256v1 -genkey`, `pkeyutl -sign -rawin`,
//! `dgst -sha256 -sign`) over the message "hello"; they are test-only keys.

use llmagent_guest::{Output, ToolError};
use serde_json::json;

use super::{call, ok, text};

const OSSL_ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINUG2AlJG83pe21nAjzShDsJJFygyN/O7lg8epsQ5vVV
-----END PRIVATE KEY-----";
const OSSL_ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEA4Z96zIFRkCpSe/B+tkLhanCEqHKVfme8SMHOHAOsbXM=
-----END PUBLIC KEY-----";
const OSSL_ED_SIG: &str =
    "yGKCBjcm+S85LWKMAEAZHMPukloyNeA1bR6Bb+Ky1mF46T+H4J0TYG9pY3wqPMuHkNU5H3sFw39LXf96NY9NDw==";
const OSSL_EC_PRIVATE: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIPpx4PKs3cFzDLQOm24AFt4ZOKdqA8cJq4WTUNIv8CKYoAoGCCqGSM49
AwEHoUQDQgAErYS+rhHGSYa6uY3uam9ZN0JCrvvBLcp7+PK51QOpSP/NvVhwlLgj
/WHXkfTKX2iQLYqrwrDtCPKD7o0/hkhNWg==
-----END EC PRIVATE KEY-----";
const OSSL_EC_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAErYS+rhHGSYa6uY3uam9ZN0JCrvvB
Lcp7+PK51QOpSP/NvVhwlLgj/WHXkfTKX2iQLYqrwrDtCPKD7o0/hkhNWg==
-----END PUBLIC KEY-----";
const OSSL_EC_SIG: &str = "MEYCIQCBzQ/RuXB7VX4azhVoGW/bvLtXVAeXrMiPl9FRbQLOigIhAIuPf4cxtRnbJhUV6nvpxVogYtA/nRuiKucXXdRe46RM";

#[test]
fn ed25519_keypair_default_is_raw_base64_and_round_trips() {
    let out = ok("generate_keypair", json!({}));
    assert_eq!(
        out.metadata(),
        Output::new(0)
            .meta("type", "ed25519")
            .meta("format", "raw")
            .metadata()
    );
    assert_eq!(out.output()["type"], json!("ed25519"));
    let private_key = out.output()["private_key"].as_str().unwrap_or_default();
    let public_key = out.output()["public_key"].as_str().unwrap_or_default();
    assert_eq!(private_key.len(), 44);
    assert_eq!(public_key.len(), 44);
    sign_and_verify("ed25519", private_key, public_key);
}

#[test]
fn ed25519_pem_keypair_round_trips() {
    let out = ok(
        "generate_keypair",
        json!({"type": "ed25519", "format": "pem"}),
    );
    assert_eq!(out.metadata().get("format"), Some(&json!("pem")));
    let private_key = out.output()["private_key"].as_str().unwrap_or_default();
    let public_key = out.output()["public_key"].as_str().unwrap_or_default();
    assert!(private_key.starts_with("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"));
    assert!(public_key.starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"));
    sign_and_verify("ed25519", private_key, public_key);
}

#[test]
fn ecdsa_keypair_default_is_pem_and_round_trips() {
    let out = ok("generate_keypair", json!({"type": "ecdsa"}));
    assert_eq!(
        out.metadata(),
        Output::new(0)
            .meta("type", "ecdsa")
            .meta("curve", "secp256r1")
            .meta("format", "pem")
            .metadata()
    );
    assert_eq!(out.output()["curve"], json!("secp256r1"));
    let private_key = out.output()["private_key"].as_str().unwrap_or_default();
    let public_key = out.output()["public_key"].as_str().unwrap_or_default();
    assert!(private_key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(
        public_key.starts_with("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE")
    );
    sign_and_verify("ecdsa", private_key, public_key);
}

#[test]
fn ecdsa_raw_keypair_round_trips() {
    let out = ok(
        "generate_keypair",
        json!({"type": "ecdsa", "format": "raw"}),
    );
    let private_key = out.output()["private_key"].as_str().unwrap_or_default();
    let public_key = out.output()["public_key"].as_str().unwrap_or_default();
    assert_eq!((private_key.len(), public_key.len()), (44, 88));
    sign_and_verify("ecdsa", private_key, public_key);
}

/// Signs through the action, then verifies the good signature (true) and a
/// different message (false).
fn sign_and_verify(key_type: &str, private_key: &str, public_key: &str) {
    let signed = ok(
        "sign",
        json!({"type": key_type, "data": "msg", "private_key": private_key}),
    );
    assert_eq!(
        signed.metadata(),
        Output::new(0)
            .meta("type", key_type)
            .meta("action", "sign")
            .metadata()
    );
    let signature = text(&signed);
    let verify = |data: &str| {
        ok(
            "verify",
            json!({"type": key_type, "data": data, "signature": signature, "public_key": public_key}),
        )
    };
    assert_eq!(
        verify("msg"),
        Output::new(true)
            .meta("type", key_type)
            .meta("action", "verify")
    );
    assert_eq!(verify("msG").output(), &json!(false));
}

#[test]
fn ed25519_rfc8032_test1_through_the_actions() {
    let private_key = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
    let public_key = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    let signature =
        "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw==";
    assert_eq!(
        ok(
            "sign",
            json!({"type": "ed25519", "data": "", "private_key": private_key})
        ),
        Output::new(signature)
            .meta("type", "ed25519")
            .meta("action", "sign")
    );
    let args =
        json!({"type": "ed25519", "data": "", "signature": signature, "public_key": public_key});
    assert_eq!(ok("verify", args).output(), &json!(true));
}

#[test]
fn openssl_signatures_verify_and_openssl_keys_sign() {
    for (key_type, sig, public_key, private_key) in [
        ("ed25519", OSSL_ED_SIG, OSSL_ED_PUBLIC, OSSL_ED_PRIVATE),
        ("ecdsa", OSSL_EC_SIG, OSSL_EC_PUBLIC, OSSL_EC_PRIVATE),
    ] {
        let args =
            json!({"type": key_type, "data": "hello", "signature": sig, "public_key": public_key});
        assert_eq!(ok("verify", args).output(), &json!(true), "{key_type}");
        sign_and_verify(key_type, private_key, public_key);
    }
}

#[test]
fn verify_errors_name_the_argument() {
    let verify = |key_type: &str, signature: &str, public_key: &str| {
        call(
            "verify",
            json!({"type": key_type, "data": "hello", "signature": signature, "public_key": public_key}),
        )
    };
    assert_eq!(
        verify("ed25519", "%%%", OSSL_ED_PUBLIC),
        Err(ToolError::invalid_args(
            "signature",
            "`signature` is not valid base64"
        ))
    );
    assert_eq!(
        verify("ed25519", "AAAA", OSSL_ED_PUBLIC),
        Err(ToolError::invalid_args(
            "signature",
            "an Ed25519 signature is 64 bytes (base64), but `signature` decodes to 3 bytes"
        ))
    );
    assert_eq!(
        verify("ed25519", OSSL_ED_SIG, "AAAA"),
        Err(crate::ed25519::PUBLIC.invalid("it decodes to 3 bytes"))
    );
    assert_eq!(
        verify("ecdsa", OSSL_EC_SIG, OSSL_ED_PUBLIC).map_err(|e| (e.reason, e.field)),
        Err(("invalid_key".to_owned(), Some("public_key".to_owned())))
    );
    // A well-formed signature by another key is `false`, not an error.
    assert_eq!(
        verify(
            "ed25519",
            OSSL_ED_SIG,
            "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
        )
        .map(|o| o.output().clone()),
        Ok(json!(false))
    );
}

#[test]
fn sign_with_a_short_key_is_invalid_key() {
    assert_eq!(
        call(
            "sign",
            json!({"type": "ed25519", "data": "x", "private_key": "AAAA"})
        ),
        Err(crate::ed25519::PRIVATE.invalid("it decodes to 3 bytes"))
    );
    assert_eq!(
        call(
            "sign",
            json!({"type": "ecdsa", "data": "x", "private_key": "AAAA"})
        ),
        Err(crate::ecdsa::PRIVATE.invalid("it decodes to 3 bytes"))
    );
}

#[test]
fn unknown_or_missing_type_is_invalid_args() {
    let unknown = ToolError::invalid_args(
        "type",
        "argument `type` must be one of ed25519, ecdsa, got \"rsa\"",
    );
    assert_eq!(
        call("generate_keypair", json!({"type": "rsa"})),
        Err(unknown.clone())
    );
    assert_eq!(
        call(
            "sign",
            json!({"type": "rsa", "data": "x", "private_key": "k"})
        ),
        Err(unknown)
    );
    assert_eq!(
        call("sign", json!({"data": "x", "private_key": "k"})),
        Err(ToolError::invalid_args(
            "type",
            "missing required argument `type`"
        ))
    );
    assert_eq!(
        call("generate_keypair", json!({"format": "der"})),
        Err(ToolError::invalid_args(
            "format",
            "argument `format` must be one of raw, pem, got \"der\""
        ))
    );
}
