//! The `crypto` tool: SHA-256 and HMAC-SHA-256 digests, random symmetric
//! keys, Ed25519 and ECDSA P-256 key pairs, signing and verification, and
//! the base16/base64/base64url/base58/raw encoders of the predecessor's
//! Utils — as a WebAssembly component with no capabilities beyond
//! `wasi:random`.
//!
//! Differences from the predecessor (reference §1.9, §5, §7): an unknown
//! encoding is an `invalid_args` error, not a bare atom; bytes that are not
//! UTF-8 come back as base64 flagged `binary: true` instead of breaking the
//! JSON; `base64url` really is URL-safe; wrong-length or malformed keys are
//! `invalid_key` naming the argument instead of a crash; ECDSA keys are
//! standard PKCS#8/SPKI documents and can sign as well as verify.
//!
//! Error codes: `invalid_args` (a bad argument; `field` names it),
//! `invalid_key` (`private_key` / `public_key` unusable), `crypto_error`
//! (the random source or a PEM encoder failed — a host problem).

#![deny(missing_docs)]

mod actions;
mod digest;
mod ecdsa;
mod ed25519;
mod encoding;
mod key_input;
mod keypair;
mod random;
mod spec;
#[cfg(test)]
mod tests;

use llmagent_guest::{Args, Output, Spec, Tool, ToolError};

/// The crypto tool.
pub struct Crypto;

impl Tool for Crypto {
    fn spec() -> Spec {
        spec::spec()
    }

    fn invoke(action: &str, args: Args) -> Result<Output, ToolError> {
        match action {
            "sha256" => actions::sha256(&args),
            "hmac" => actions::hmac(&args),
            "generate_key" => actions::generate_key(&args),
            "generate_keypair" => actions::generate_keypair(&args),
            "sign" => actions::sign(&args),
            "verify" => actions::verify(&args),
            "encode" => actions::encode(&args),
            "decode" => actions::decode(&args),
            other => Err(ToolError::unknown_action_of(&spec::spec(), other)),
        }
    }
}

llmagent_guest::export_tool!(Crypto);
