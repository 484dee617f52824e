//! ECDSA over NIST P-256 (secp256r1) with SHA-256: key pairs, signing and
//! verification.
//!
//! Keys are standard documents (PKCS#8 / SEC1 private keys, SPKI public
//! keys, PEM or DER) or raw bytes (the 32-byte scalar, a SEC1 point), so
//! they work with openssl — unlike the seed, whose private keys were an
//! Erlang term blob. Signatures are DER (what openssl writes); 64-byte
//! `r || s` is accepted on input. Signing is deterministic (RFC 6979).

use llmagent_guest::ToolError;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::pkcs8::{DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use p256::{PublicKey, SecretKey};

use crate::encoding::base64;
use crate::key_input::{KeyInput, KeySlot};
use crate::keypair::{Format, KeyPair};

/// The curve's name in outputs, as the seed named it.
pub(crate) const CURVE: &str = "secp256r1";

/// The `private_key` argument of `sign`.
pub(crate) const PRIVATE: KeySlot = KeySlot {
    field: "private_key",
    what: "ECDSA P-256 private key",
    forms: "a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----, as generate_keypair returns), a SEC1 PEM \
            (-----BEGIN EC PRIVATE KEY-----), base64 of either PEM or DER, or base64 of the \
            32-byte private scalar",
};

/// The `public_key` argument of `verify`.
pub(crate) const PUBLIC: KeySlot = KeySlot {
    field: "public_key",
    what: "ECDSA P-256 public key",
    forms: "an SPKI PEM (-----BEGIN PUBLIC KEY-----, as generate_keypair returns), base64 of \
            that PEM, base64 of the DER SPKI, or base64 of a SEC1 point (33 or 65 bytes)",
};

/// The secret key of 32 random bytes, or `None` in the ~2⁻³² case where
/// they are zero or not below the group order (the caller draws again).
pub(crate) fn secret_from_bytes(bytes: &[u8; 32]) -> Option<SecretKey> {
    SecretKey::from_slice(bytes).ok()
}

/// Exports a key pair in `format`: PEM (PKCS#8 + SPKI) or raw (base64 of
/// the scalar and of the uncompressed SEC1 point).
pub(crate) fn keypair(secret: &SecretKey, format: Format) -> Result<KeyPair, ToolError> {
    let public = secret.public_key();
    match format {
        Format::Raw => Ok(KeyPair {
            private_key: base64(&secret.to_bytes()),
            public_key: base64(public.to_sec1_point(false).as_bytes()),
        }),
        Format::Pem => {
            let private_key = secret.to_pkcs8_pem(LineEnding::LF).map_err(pem_failed)?;
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
        format!("could not encode the P-256 key as PEM: {e}"),
    )
}

/// Reads a private key in any accepted form.
pub(crate) fn signing_key(text: &str) -> Result<SigningKey, ToolError> {
    let secret = match PRIVATE.read(text)? {
        KeyInput::Pem(pem) => {
            SecretKey::from_pem(&pem).map_err(|e| PRIVATE.invalid(format!("bad PEM: {e}")))?
        }
        KeyInput::Bytes(bytes) if bytes.len() == 32 => SecretKey::from_slice(&bytes)
            .map_err(|_| PRIVATE.invalid("the 32 bytes are zero or not below the group order"))?,
        KeyInput::Bytes(bytes) if bytes.first() == Some(&0x30) => SecretKey::from_der(&bytes)
            .map_err(|e| PRIVATE.invalid(format!("bad PKCS#8/SEC1 DER: {e}")))?,
        KeyInput::Bytes(bytes) => {
            return Err(PRIVATE.invalid(format!("it decodes to {} bytes", bytes.len())));
        }
    };
    Ok(SigningKey::from(&secret))
}

/// Reads a public key in any accepted form.
pub(crate) fn verifying_key(text: &str) -> Result<VerifyingKey, ToolError> {
    let public = match PUBLIC.read(text)? {
        KeyInput::Pem(pem) => PublicKey::from_public_key_pem(&pem)
            .map_err(|e| PUBLIC.invalid(format!("bad PEM: {e}")))?,
        KeyInput::Bytes(bytes) if bytes.first() == Some(&0x30) => {
            PublicKey::from_public_key_der(&bytes)
                .map_err(|e| PUBLIC.invalid(format!("bad SPKI DER: {e}")))?
        }
        KeyInput::Bytes(bytes) if matches!(bytes.len(), 33 | 65) => {
            PublicKey::from_sec1_bytes(&bytes).map_err(|_| {
                PUBLIC.invalid(format!(
                    "the {} bytes are not a SEC1 point on P-256",
                    bytes.len()
                ))
            })?
        }
        KeyInput::Bytes(bytes) => {
            return Err(PUBLIC.invalid(format!("it decodes to {} bytes", bytes.len())));
        }
    };
    Ok(VerifyingKey::from(&public))
}

/// Signs `data` (hashed with SHA-256): the DER signature.
pub(crate) fn sign(key: &SigningKey, data: &[u8]) -> Vec<u8> {
    let signature: Signature = key.sign(data);
    signature.to_der().as_bytes().to_vec()
}

/// Reads a DER or 64-byte `r || s` signature; anything else is
/// `invalid_args` on `signature`.
pub(crate) fn signature(bytes: &[u8]) -> Result<Signature, ToolError> {
    let parsed = if bytes.len() == 64 {
        Signature::from_slice(bytes)
    } else {
        Signature::from_der(bytes)
    };
    parsed.map_err(|_| {
        ToolError::invalid_args(
            "signature",
            format!(
                "`signature` ({} bytes) is not an ECDSA P-256 signature; expected base64 of a DER \
                 signature or of 64 bytes r || s, with r and s in 1..n-1",
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

    /// RFC 6979 §A.2.5: P-256 key and the SHA-256 signature of "sample".
    const X: &str = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
    const UX: &str = "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6";
    const UY: &str = "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";
    const R: &str = "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716";
    const S: &str = "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";

    fn bytes(h: &str) -> Vec<u8> {
        hex::decode(h).unwrap()
    }

    fn secret() -> SecretKey {
        SecretKey::from_slice(&bytes(X)).unwrap()
    }

    #[test]
    fn rfc6979_sample_vector() {
        let key = signing_key(&base64(&bytes(X))).unwrap();
        let der = sign(&key, b"sample");
        let sig = Signature::from_der(&der).unwrap();
        assert_eq!(hex::encode(sig.to_bytes()), format!("{R}{S}"));
        let sec1 = bytes(&format!("04{UX}{UY}"));
        let public = verifying_key(&base64(&sec1)).unwrap();
        assert!(verify(&public, b"sample", &signature(&der).unwrap()));
        assert!(verify(
            &public,
            b"sample",
            &signature(&bytes(&format!("{R}{S}"))).unwrap()
        ));
        assert!(!verify(&public, b"test", &signature(&der).unwrap()));
    }

    #[test]
    fn random_pem_keypair_signs_and_verifies() {
        let seed = crate::random::bytes::<32>().unwrap();
        let secret = secret_from_bytes(&seed).unwrap();
        let pair = keypair(&secret, Format::Pem).unwrap();
        assert!(
            pair.private_key
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        assert!(pair.public_key.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let sig = sign(&signing_key(&pair.private_key).unwrap(), b"payload");
        let public = verifying_key(&pair.public_key).unwrap();
        assert!(verify(&public, b"payload", &signature(&sig).unwrap()));
        assert!(!verify(&public, b"payloaD", &signature(&sig).unwrap()));
    }

    #[test]
    fn raw_keypair_is_scalar_and_uncompressed_point() {
        let pair = keypair(&secret(), Format::Raw).unwrap();
        assert_eq!(
            pair,
            KeyPair {
                private_key: base64(&bytes(X)),
                public_key: base64(&bytes(&format!("04{UX}{UY}"))),
            }
        );
    }

    #[test]
    fn every_public_key_form_reads_to_the_same_key() {
        let want = VerifyingKey::from(&secret().public_key());
        let pem = keypair(&secret(), Format::Pem).unwrap().public_key;
        let der = secret().public_key().to_public_key_der().unwrap();
        let compressed = secret().public_key().to_sec1_point(true);
        for form in [
            pem.clone(),
            base64(pem.as_bytes()),
            base64(der.as_bytes()),
            base64(&bytes(&format!("04{UX}{UY}"))),
            base64(compressed.as_bytes()),
        ] {
            assert_eq!(verifying_key(&form), Ok(want), "{form}");
        }
    }

    #[test]
    fn every_private_key_form_reads_to_the_same_key() {
        let want = SigningKey::from(&secret());
        let pkcs8 = keypair(&secret(), Format::Pem).unwrap().private_key;
        let sec1 = secret().to_sec1_pem(LineEnding::LF).unwrap().to_string();
        let sec1_der = secret().to_sec1_der().unwrap();
        for form in [
            pkcs8.clone(),
            sec1.clone(),
            base64(pkcs8.as_bytes()),
            base64(&sec1_der),
            base64(&bytes(X)),
        ] {
            assert_eq!(
                signing_key(&form).map(|k| k.to_bytes()),
                Ok(want.to_bytes()),
                "{form}"
            );
        }
    }

    #[test]
    fn wrong_length_and_malformed_keys_are_invalid_key() {
        assert_eq!(
            signing_key(&base64(&[7; 20])).unwrap_err(),
            ToolError::new(
                "invalid_key",
                "`private_key` is not a valid ECDSA P-256 private key: it decodes to 20 bytes; \
                 expected a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----, as generate_keypair returns), \
                 a SEC1 PEM (-----BEGIN EC PRIVATE KEY-----), base64 of either PEM or DER, or \
                 base64 of the 32-byte private scalar"
            )
            .field("private_key")
        );
        assert_eq!(
            signing_key(&base64(&[0; 32])).unwrap_err(),
            PRIVATE.invalid("the 32 bytes are zero or not below the group order")
        );
        assert_eq!(
            verifying_key(&base64(&[4; 65])).unwrap_err(),
            PUBLIC.invalid("the 65 bytes are not a SEC1 point on P-256")
        );
        assert_eq!(
            verifying_key(&base64(&[4; 10])).unwrap_err(),
            ToolError::new(
                "invalid_key",
                "`public_key` is not a valid ECDSA P-256 public key: it decodes to 10 bytes; \
                 expected an SPKI PEM (-----BEGIN PUBLIC KEY-----, as generate_keypair returns), \
                 base64 of that PEM, base64 of the DER SPKI, or base64 of a SEC1 point (33 or 65 bytes)"
            )
            .field("public_key")
        );
        let err = verifying_key(&keypair(&secret(), Format::Pem).unwrap().private_key).unwrap_err();
        assert_eq!(
            (err.reason.as_str(), err.field.as_deref()),
            ("invalid_key", Some("public_key"))
        );
    }

    #[test]
    fn malformed_signature_is_invalid_args() {
        assert_eq!(
            signature(&[0x30, 0x01, 0x02]).unwrap_err(),
            ToolError::invalid_args(
                "signature",
                "`signature` (3 bytes) is not an ECDSA P-256 signature; expected base64 of a DER \
                 signature or of 64 bytes r || s, with r and s in 1..n-1"
            )
        );
        assert!(signature(&[0; 64]).is_err(), "r = s = 0 is not a signature");
    }
}
