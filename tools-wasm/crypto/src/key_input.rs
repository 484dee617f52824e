//! Reading key text as a model writes it: a PEM document, base64 of a PEM
//! document (the seed's ECDSA public key format), or base64 of raw or DER
//! bytes. Each algorithm module then decides what the bytes may be.

use llmagent_guest::ToolError;

use crate::encoding::lenient_base64;

/// Key material before it is interpreted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KeyInput {
    /// A PEM document (`-----BEGIN …`).
    Pem(String),
    /// Decoded base64: a raw key, a SEC1 point or DER.
    Bytes(Vec<u8>),
}

/// What a key argument is and which forms it accepts, for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeySlot {
    /// The argument name (`private_key`, `public_key`).
    pub(crate) field: &'static str,
    /// What the key is (`Ed25519 private key`).
    pub(crate) what: &'static str,
    /// The forms accepted, as a phrase.
    pub(crate) forms: &'static str,
}

impl KeySlot {
    /// `invalid_key` on this argument: what was wrong and what is expected.
    pub(crate) fn invalid(&self, problem: impl std::fmt::Display) -> ToolError {
        ToolError::new(
            "invalid_key",
            format!(
                "`{}` is not a valid {}: {problem}; expected {}",
                self.field, self.what, self.forms
            ),
        )
        .field(self.field)
    }

    /// Reads the argument text as PEM or base64.
    pub(crate) fn read(&self, text: &str) -> Result<KeyInput, ToolError> {
        let trimmed = text.trim();
        if trimmed.starts_with("-----BEGIN") {
            return Ok(KeyInput::Pem(unescape_newlines(trimmed)));
        }
        let bytes =
            lenient_base64(trimmed).ok_or_else(|| self.invalid("it is neither PEM nor base64"))?;
        if bytes.starts_with(b"-----BEGIN") {
            return match String::from_utf8(bytes) {
                Ok(pem) => Ok(KeyInput::Pem(unescape_newlines(pem.trim()))),
                Err(_) => Err(self.invalid("it is base64 of a PEM document that is not UTF-8")),
            };
        }
        Ok(KeyInput::Bytes(bytes))
    }
}

/// A PEM pasted with literal `\n` escapes (common in model output) gets its
/// line breaks back; one with real line breaks is left alone.
fn unescape_newlines(pem: &str) -> String {
    if pem.contains('\n') || !pem.contains("\\n") {
        pem.to_owned()
    } else {
        pem.replace("\\n", "\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOT: KeySlot = KeySlot {
        field: "public_key",
        what: "test key",
        forms: "anything",
    };

    #[test]
    fn pem_text_base64_pem_and_base64_bytes() {
        let pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
        assert_eq!(
            SLOT.read(&format!("  {pem}\n")),
            Ok(KeyInput::Pem(pem.to_owned()))
        );
        let b64 = crate::encoding::base64(pem.as_bytes());
        assert_eq!(SLOT.read(&b64), Ok(KeyInput::Pem(pem.to_owned())));
        assert_eq!(SLOT.read("AAEC"), Ok(KeyInput::Bytes(vec![0, 1, 2])));
    }

    #[test]
    fn escaped_newlines_are_restored() {
        let escaped = "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----";
        assert_eq!(
            SLOT.read(escaped),
            Ok(KeyInput::Pem(
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".to_owned()
            ))
        );
    }

    #[test]
    fn neither_pem_nor_base64_is_invalid_key() {
        assert_eq!(
            SLOT.read("%%%"),
            Err(ToolError::new(
                "invalid_key",
                "`public_key` is not a valid test key: it is neither PEM nor base64; expected anything"
            )
            .field("public_key"))
        );
    }
}
