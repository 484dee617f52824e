//! Ed25519 (RFC 8032): key pairs, signing and verification.
//!
//! Keys travel as base64 of the raw bytes (the seed's format: the 32-byte
//! private seed and the 32-byte public key) or as PEM: PKCS#8 v1 for the
//! private key and SPKI for the public key, the documents
//! `openssl genpkey -algorithm ed25519` writes and reads.

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use llmagent_guest::ToolError;

use crate::encoding::base64;
use crate::key_input::{KeyInput, KeySlot};
use crate::keypair::{Format, KeyPair};

/// The `private_key` argument of `sign`.
pub(crate) const PRIVATE: KeySlot = KeySlot {
    field: "private_key",
    what: "Ed25519 private key",
    forms: "base64 of the 32-byte seed (as generate_keypair returns), base64 of the 64-byte \
            seed || public key, or a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)",
};

/// The `public_key` argument of `verify`.
pub(crate) const PUBLIC: KeySlot = KeySlot {
    field: "public_key",
    what: "Ed25519 public key",
    forms: "base64 of the 32-byte public key (as generate_keypair returns) or an SPKI PEM \
            (-----BEGIN PUBLIC KEY-----)",
};

/// Length of a signature in bytes.
const SIGNATURE_LEN: usize = 64;

/// The key pair of a 32-byte seed, exported in `format`.
pub(crate) fn keypair(seed: &[u8; 32], format: Format) -> Result<KeyPair, ToolError> {
    let key = SigningKey::from_bytes(seed);
    let public = key.verifying_key();
    match format {
        Format::Raw => Ok(KeyPair {
            private_key: base64(seed),
            public_key: base64(public.as_bytes()),
        }),
        Format::Pem => {
            // PKCS#8 v1 (no embedded public key), as OpenSSL writes it.
            let v1 = KeypairBytes {
                secret_key: *seed,
                public_key: None,
            };
            let private_key = v1.to_pkcs8_pem(LineEnding::LF).map_err(pem_failed)?;
            let public_key = public
                .to_public_key_pem(LineEnding::LF)
                .map_err(pem_failed)?;
            Ok(KeyPair {
                private_key: private_key.to_string(),
                public_key,
            })
        }
    }
}

fn pem_failed(e: impl std::fmt::Display) -> ToolError {
    ToolError::new(
        "crypto_error",
        format!("could not encode the Ed25519 key as PEM: {e}"),
    )
}

/// Reads a private key in any accepted form.
pub(crate) fn signing_key(text: &str) -> Result<SigningKey, ToolError> {
    match PRIVATE.read(text)? {
        KeyInput::Pem(pem) => {
            SigningKey::from_pkcs8_pem(&pem).map_err(|e| PRIVATE.invalid(format!("bad PEM: {e}")))
        }
        KeyInput::Bytes(bytes) => match bytes.len() {
            32 => {
                let mut seed = [0u8; 32];
                seed.copy_from_slice(&bytes);
                Ok(SigningKey::from_bytes(&seed))
            }
            64 => {
                let mut pair = [0u8; 64];
                pair.copy_from_slice(&bytes);
                SigningKey::from_keypair_bytes(&pair).map_err(|_| {
                    PRIVATE.invalid("the last 32 bytes are not the public key of the first 32")
                })
            }
            _ if bytes.first() == Some(&0x30) => SigningKey::from_pkcs8_der(&bytes)
                .map_err(|e| PRIVATE.invalid(format!("bad PKCS#8 DER: {e}"))),
            n => Err(PRIVATE.invalid(format!("it decodes to {n} bytes"))),
        },
    }
}

/// Reads a public key in any accepted form.
pub(crate) fn verifying_key(text: &str) -> Result<VerifyingKey, ToolError> {
    match PUBLIC.read(text)? {
        KeyInput::Pem(pem) => VerifyingKey::from_public_key_pem(&pem)
            .map_err(|e| PUBLIC.invalid(format!("bad PEM: {e}"))),
        KeyInput::Bytes(bytes) => match bytes.len() {
            32 => {
                let mut raw = [0u8; 32];
                raw.copy_from_slice(&bytes);
                VerifyingKey::from_bytes(&raw)
                    .map_err(|_| PUBLIC.invalid("the 32 bytes are not a curve point"))
            }
            _ if bytes.first() == Some(&0x30) => VerifyingKey::from_public_key_der(&bytes)
                .map_err(|e| PUBLIC.invalid(format!("bad SPKI DER: {e}"))),
            n => Err(PUBLIC.invalid(format!("it decodes to {n} bytes"))),
        },
    }
}

/// Signs `data`: the 64-byte signature.
pub(crate) fn sign(key: &SigningKey, data: &[u8]) -> Vec<u8> {
    key.sign(data).to_bytes().to_vec()
}

/// Reads signature bytes; anything but 64 bytes is `invalid_args`.
pub(crate) fn signature(bytes: &[u8]) -> Result<Signature, ToolError> {
    Signature::from_slice(bytes).map_err(|_| {
        ToolError::invalid_args(
            "signature",
            format!(
                "an Ed25519 signature is {SIGNATURE_LEN} bytes (base64), but `signature` decodes to {} bytes",
                bytes.len()
            ),
        )
    })
}

/// Whether `signature` is a valid signature of `data` under `key`.
pub(crate) fn verify(key: &VerifyingKey, data: &[u8], signature: &Signature) -> bool {
    key.verify(data, signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 §7.1 TEST 1.
    const SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const PUBLIC_KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const SIG: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    fn b64_of_hex(h: &str) -> String {
        base64(&hex::decode(h).unwrap_or_default())
    }

    fn seed() -> [u8; 32] {
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&hex::decode(SECRET).unwrap_or_default());
        seed
    }

    #[test]
    fn rfc8032_test1_sign_and_verify() {
        let key = signing_key(&b64_of_hex(SECRET)).unwrap();
        assert_eq!(hex::encode(key.verifying_key().as_bytes()), PUBLIC_KEY);
        assert_eq!(hex::encode(sign(&key, b"")), SIG);
        let public = verifying_key(&b64_of_hex(PUBLIC_KEY)).unwrap();
        let sig = signature(&hex::decode(SIG).unwrap()).unwrap();
        assert!(verify(&public, b"", &sig));
        assert!(!verify(&public, b"x", &sig));
    }

    #[test]
    fn raw_keypair_is_base64_of_seed_and_public_key() {
        let pair = keypair(&seed(), Format::Raw).unwrap();
        assert_eq!(
            pair,
            KeyPair {
                private_key: b64_of_hex(SECRET),
                public_key: b64_of_hex(PUBLIC_KEY),
            }
        );
    }

    #[test]
    fn pem_keypair_is_pkcs8_v1_and_spki_and_reads_back() {
        let pair = keypair(&seed(), Format::Pem).unwrap();
        // The DER prefixes OpenSSL uses for Ed25519 PKCS#8 v1 and SPKI.
        let private_b64 = b64_of_hex(&format!("302e020100300506032b657004220420{SECRET}"));
        let public_b64 = b64_of_hex(&format!("302a300506032b6570032100{PUBLIC_KEY}"));
        assert_eq!(
            pair.private_key,
            format!("-----BEGIN PRIVATE KEY-----\n{private_b64}\n-----END PRIVATE KEY-----\n")
        );
        assert_eq!(
            pair.public_key,
            format!("-----BEGIN PUBLIC KEY-----\n{public_b64}\n-----END PUBLIC KEY-----\n")
        );
        let key = signing_key(&pair.private_key).unwrap();
        assert_eq!(key.to_bytes(), seed());
        assert_eq!(
            hex::encode(verifying_key(&pair.public_key).unwrap().as_bytes()),
            PUBLIC_KEY
        );
        // base64 of the DER works as well.
        assert_eq!(signing_key(&private_b64).unwrap().to_bytes(), seed());
        assert_eq!(
            hex::encode(verifying_key(&public_b64).unwrap().as_bytes()),
            PUBLIC_KEY
        );
    }

    #[test]
    fn sixty_four_byte_keypair_is_accepted_and_checked() {
        let good = b64_of_hex(&format!("{SECRET}{PUBLIC_KEY}"));
        assert_eq!(signing_key(&good).unwrap().to_bytes(), seed());
        let bad = b64_of_hex(&format!("{SECRET}{SECRET}"));
        assert_eq!(
            signing_key(&bad).unwrap_err(),
            PRIVATE.invalid("the last 32 bytes are not the public key of the first 32")
        );
    }

    #[test]
    fn wrong_length_keys_are_invalid_key() {
        assert_eq!(
            signing_key(&base64(&[1; 16])).unwrap_err(),
            ToolError::new(
                "invalid_key",
                "`private_key` is not a valid Ed25519 private key: it decodes to 16 bytes; expected \
                 base64 of the 32-byte seed (as generate_keypair returns), base64 of the 64-byte \
                 seed || public key, or a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)"
            )
            .field("private_key")
        );
        assert_eq!(
            verifying_key(&base64(&[1; 31])).unwrap_err(),
            ToolError::new(
                "invalid_key",
                "`public_key` is not a valid Ed25519 public key: it decodes to 31 bytes; expected \
                 base64 of the 32-byte public key (as generate_keypair returns) or an SPKI PEM \
                 (-----BEGIN PUBLIC KEY-----)"
            )
            .field("public_key")
        );
    }

    #[test]
    fn malformed_keys_are_invalid_key() {
        assert_eq!(
            signing_key("not base64 at all!").unwrap_err(),
            PRIVATE.invalid("it is neither PEM nor base64")
        );
        let err = verifying_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
            .unwrap_err();
        assert_eq!(
            (err.reason.as_str(), err.field.as_deref()),
            ("invalid_key", Some("public_key"))
        );
        assert!(
            err.message
                .starts_with("`public_key` is not a valid Ed25519 public key: bad PEM: ")
        );
    }

    #[test]
    fn wrong_length_signature_is_invalid_args() {
        assert_eq!(
            signature(&[0; 63]).unwrap_err(),
            ToolError::invalid_args(
                "signature",
                "an Ed25519 signature is 64 bytes (base64), but `signature` decodes to 63 bytes"
            )
        );
    }
}
