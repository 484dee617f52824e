//! The tool's self-description: what the model reads to call it, so every
//! description states the inputs, the output and the metadata exactly.

use llmagent_guest::{Action, Spec};
use serde_json::{Value, json};

use crate::actions::{KEY_BITS, KEY_TYPES};
use crate::encoding::NAMES as ENCODINGS;
use crate::keypair::Format;

const TOOL: &str = "Hashes (SHA-256, HMAC-SHA-256), random symmetric keys, Ed25519 and ECDSA P-256 \
key pairs, signatures and verification, and base16/base64/base64url/base58 encoding and decoding. \
Pure computation: no files, no network. Text arguments are used as their UTF-8 bytes.";

const SHA256: &str = "SHA-256 digest of the UTF-8 bytes of `data`. Output: the 32-byte digest as a \
string in `encoding` (default base16 = lower-case hex). Metadata: {algorithm: \"sha256\", encoding, \
binary}. With encoding \"raw\" the digest is not text, so it is returned as standard base64 and \
metadata.binary is true; otherwise binary is false.";

const HMAC: &str = "HMAC-SHA-256 of the UTF-8 bytes of `data` under the UTF-8 bytes of `key` (any \
length). Output: the 32-byte MAC as a string in `encoding` (default base16 = lower-case hex). \
Metadata: {algorithm: \"hmac-sha256\", encoding, binary}; binary as for sha256.";

const GENERATE_KEY: &str = "Random symmetric key from the secure random source. Output: the key \
(`bits` / 8 bytes, default 256 bits) as a string in `encoding` (default base64: standard alphabet, \
padded). Metadata: {type: \"symmetric\", bits, encoding, binary}; with encoding \"raw\" the key is \
returned as base64 and binary is true. The key is a secret: anyone who can read this conversation \
can read it.";

const GENERATE_KEYPAIR: &str = "New random signing key pair. Output: {type, private_key, public_key}, \
plus curve: \"secp256r1\" for ecdsa. type \"ed25519\" (default): format \"raw\" (default) gives base64 \
of the 32-byte private seed and base64 of the 32-byte public key; format \"pem\" gives a PKCS#8 \
private key PEM and an SPKI public key PEM. type \"ecdsa\" (NIST P-256 / secp256r1): format \"pem\" \
(default) gives a PKCS#8 private key PEM and an SPKI public key PEM (openssl reads both); format \
\"raw\" gives base64 of the 32-byte private scalar and base64 of the 65-byte uncompressed SEC1 \
public point. Every form is accepted back by sign and verify. Metadata: {type, format}, plus curve \
for ecdsa. The private key is a secret: anyone who can read this conversation can read it.";

const SIGN: &str = "Sign the UTF-8 bytes of `data` with `private_key`. type \"ed25519\": Ed25519 \
(RFC 8032); private_key is base64 of the 32-byte seed (or of the 64-byte seed || public key) or a \
PKCS#8 PEM; output is base64 of the 64-byte signature. type \"ecdsa\": ECDSA P-256 over SHA-256, \
deterministic (RFC 6979); private_key is a PKCS#8 PEM, a SEC1 EC PRIVATE KEY PEM, base64 of either \
(PEM or DER), or base64 of the 32-byte scalar; output is base64 of the DER signature (as openssl \
writes it). A key of the wrong length or format is an invalid_key error on private_key. Metadata: \
{type, action: \"sign\"}.";

const VERIFY: &str = "Check that `signature` signs the UTF-8 bytes of `data` under `public_key`. \
Output: true or false; a well-formed signature that does not match is false, not an error. type \
\"ed25519\": public_key is base64 of the 32-byte key or an SPKI PEM; signature is base64 of 64 bytes. \
type \"ecdsa\" (P-256, SHA-256): public_key is an SPKI PEM, base64 of that PEM, base64 of the DER \
SPKI, or base64 of a SEC1 point (33 or 65 bytes); signature is base64 of a DER signature or of the \
64-byte r || s. A malformed key is an invalid_key error on public_key; a signature that is not \
base64 or has the wrong size is an invalid_args error on signature. Metadata: {type, action: \
\"verify\"}.";

const ENCODE: &str = "Encode the UTF-8 bytes of `data`. Encodings: base16 (lower-case hex), base64 \
(standard alphabet, `=` padded), base64url (RFC 4648 URL-safe alphabet with - and _, no padding), \
base58 (Bitcoin alphabet; each leading zero byte becomes \"1\"), raw (unchanged). Output: the \
encoded string. Metadata: {encoding}.";

const DECODE: &str = "Decode `data` from `encoding`: base16 (hex, either case), base64 (standard \
alphabet, valid `=` padding required), base64url (URL-safe alphabet, padding optional), base58 \
(Bitcoin alphabet), raw (unchanged). Output: the decoded bytes as a string when they are valid \
UTF-8 (metadata.binary false), otherwise standard base64 of the bytes (metadata.binary true). \
Metadata: {encoding, binary}. Input that is not valid in the encoding is an invalid_args error on \
data.";

fn string() -> Value {
    json!({"type": "string"})
}

/// A string argument that takes key material: `writeOnly` (JSON Schema's
/// annotation for a value written and never read back) tells the runtime
/// that a sealed secret handle may be unsealed into it, and nowhere else.
fn secret_string() -> Value {
    json!({"type": "string", "writeOnly": true})
}

fn encoding(default: Option<&str>) -> Value {
    match default {
        Some(d) => json!({"type": "string", "enum": ENCODINGS, "default": d}),
        None => json!({"type": "string", "enum": ENCODINGS}),
    }
}

fn key_type(default: Option<&str>) -> Value {
    match default {
        Some(d) => json!({"type": "string", "enum": KEY_TYPES, "default": d}),
        None => json!({"type": "string", "enum": KEY_TYPES}),
    }
}

/// The crypto tool's spec.
pub(crate) fn spec() -> Spec {
    Spec::new("crypto", TOOL, env!("CARGO_PKG_VERSION"))
        .action(
            Action::new("sha256", SHA256)
                .required("data", string, "Text to hash")
                .optional(
                    "encoding",
                    || encoding(Some("base16")),
                    "How to write the digest",
                ),
        )
        .action(
            Action::new("hmac", HMAC)
                .required("key", secret_string, "Secret key text, or a secret handle")
                .required("data", string, "Text to authenticate")
                .optional(
                    "encoding",
                    || encoding(Some("base16")),
                    "How to write the MAC",
                ),
        )
        .action(
            Action::new("generate_key", GENERATE_KEY)
                .optional(
                    "bits",
                    || json!({"type": "integer", "enum": KEY_BITS, "default": 256}),
                    "Key size in bits",
                )
                .optional(
                    "encoding",
                    || encoding(Some("base64")),
                    "How to write the key",
                ),
        )
        .action(
            Action::new("generate_keypair", GENERATE_KEYPAIR)
                .optional("type", || key_type(Some("ed25519")), "Signature algorithm")
                .optional(
                    "format",
                    || json!({"type": "string", "enum": Format::NAMES}),
                    "Key format; default raw for ed25519, pem for ecdsa",
                ),
        )
        .action(
            Action::new("sign", SIGN)
                .required("type", || key_type(None), "Signature algorithm")
                .required("data", string, "Text to sign")
                .required(
                    "private_key",
                    secret_string,
                    "The signer's private key, or a secret handle",
                ),
        )
        .action(
            Action::new("verify", VERIFY)
                .required("type", || key_type(None), "Signature algorithm")
                .required("data", string, "Text that was signed")
                .required("signature", string, "Base64 signature")
                .required("public_key", string, "The signer's public key"),
        )
        .action(
            Action::new("encode", ENCODE)
                .required("data", string, "Text to encode")
                .required("encoding", || encoding(None), "Target encoding"),
        )
        .action(
            Action::new("decode", DECODE)
                .required("data", string, "Encoded text")
                .required("encoding", || encoding(None), "Encoding of `data`"),
        )
}
