//! Action-level tests: each action called as the runtime calls it (checked
//! against the spec, then invoked), asserting whole outputs and errors.

mod digests;
mod signatures;

use llmagent_guest::{Args, Output, Tool, ToolError};
use serde_json::{Value, json};

use crate::Crypto;

pub(super) fn call(action: &str, args: Value) -> Result<Output, ToolError> {
    let Value::Object(map) = args else {
        panic!("test arguments must be an object");
    };
    let args = Args::from_map(map);
    let spec = Crypto::spec();
    let declared = spec
        .find(action)
        .ok_or_else(|| ToolError::unknown_action_of(&spec, action))?;
    args.check_keys(declared)?;
    Crypto::invoke(action, args)
}

pub(super) fn ok(action: &str, args: Value) -> Output {
    call(action, args).unwrap_or_else(|e| panic!("{action} failed: {e:?}"))
}

pub(super) fn text(out: &Output) -> &str {
    out.output().as_str().unwrap_or_default()
}
#[test]
fn spec_declares_every_action_and_refuses_unknown_arguments() {
    let spec = Crypto::spec();
    assert_eq!(
        spec.action_names(),
        [
            "sha256",
            "hmac",
            "generate_key",
            "generate_keypair",
            "sign",
            "verify",
            "encode",
            "decode"
        ]
    );
    let sha = spec.find("sha256").map(|a| a.schema()).unwrap_or_default();
    assert_eq!(sha["required"], json!(["data"]));
    assert_eq!(
        sha["properties"]["encoding"]["enum"],
        json!(["base16", "base64", "base64url", "base58", "raw"])
    );
    assert_eq!(
        call("sha256", json!({"data": "x", "algo": "md5"})),
        Err(ToolError::invalid_args(
            "algo",
            "unknown argument `algo` for action `sha256`; expected: data, encoding"
        ))
    );
    assert_eq!(
        Crypto::invoke("md5", Args::default()),
        Err(ToolError::unknown_action_of(&spec, "md5"))
    );
}
