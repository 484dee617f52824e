//! Byte ↔ text encodings: the seed's Utils encoder and decoder, fixed.
//!
//! `base16` is lower-case hex (decoding accepts either case); `base64` is
//! the standard alphabet with `=` padding (decoding requires valid padding);
//! `base64url` is the RFC 4648 §5 URL-safe alphabet, unpadded when encoding
//! and with or without padding when decoding (the seed used the standard
//! alphabet under that name); `base58` is the Bitcoin alphabet, where each
//! leading zero byte is a `1`; `raw` is the bytes themselves.
//!
//! Bytes that are not valid UTF-8 cannot travel in a JSON string, so a raw
//! result is returned as standard base64 and flagged [`Text::binary`].

use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::{DecodePaddingMode, general_purpose::URL_SAFE_NO_PAD};
use llmagent_guest::ToolError;

/// Every encoding name, in the order the schemas list them.
pub(crate) const NAMES: [&str; 5] = ["base16", "base64", "base64url", "base58", "raw"];

/// URL-safe alphabet accepting input with or without `=` padding.
const URL_SAFE_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One of the five encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Lower-case hexadecimal.
    Base16,
    /// Standard base64, padded.
    Base64,
    /// URL-safe base64, unpadded.
    Base64Url,
    /// Bitcoin base58.
    Base58,
    /// The bytes unchanged.
    Raw,
}

/// Encoded output: a JSON-safe string and whether it is base64 standing in
/// for bytes that are not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text {
    /// The string to return.
    pub(crate) value: String,
    /// `true` when `value` is standard base64 of non-UTF-8 bytes.
    pub(crate) binary: bool,
}

impl Text {
    /// The bytes as a string when they are UTF-8, else base64 flagged binary.
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Self {
        match String::from_utf8(bytes) {
            Ok(value) => Self {
                value,
                binary: false,
            },
            Err(e) => Self {
                value: STANDARD.encode(e.as_bytes()),
                binary: true,
            },
        }
    }
}

impl Encoding {
    /// Parses an encoding name; anything else is `invalid_args` on `field`
    /// listing the valid names.
    pub(crate) fn parse(field: &str, name: &str) -> Result<Self, ToolError> {
        match name {
            "base16" => Ok(Self::Base16),
            "base64" => Ok(Self::Base64),
            "base64url" => Ok(Self::Base64Url),
            "base58" => Ok(Self::Base58),
            "raw" => Ok(Self::Raw),
            other => Err(ToolError::invalid_args(
                field,
                format!(
                    "unknown encoding \"{other}\"; `{field}` must be one of: {}",
                    NAMES.join(", ")
                ),
            )),
        }
    }

    /// The encoding's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Base16 => "base16",
            Self::Base64 => "base64",
            Self::Base64Url => "base64url",
            Self::Base58 => "base58",
            Self::Raw => "raw",
        }
    }

    /// Encodes `bytes`. Only `raw` can yield a binary [`Text`].
    pub(crate) fn encode(self, bytes: &[u8]) -> Text {
        let value = match self {
            Self::Base16 => hex::encode(bytes),
            Self::Base64 => STANDARD.encode(bytes),
            Self::Base64Url => URL_SAFE_NO_PAD.encode(bytes),
            Self::Base58 => bs58::encode(bytes).into_string(),
            Self::Raw => return Text::from_bytes(bytes.to_vec()),
        };
        Text {
            value,
            binary: false,
        }
    }

    /// Decodes `text`; the error says why, for an `invalid_args` message.
    pub(crate) fn decode(self, text: &str) -> Result<Vec<u8>, String> {
        match self {
            Self::Base16 => hex::decode(text).map_err(|e| format!("not valid base16 (hex): {e}")),
            Self::Base64 => STANDARD.decode(text).map_err(|e| {
                format!("not valid base64 (standard alphabet A-Z a-z 0-9 + /, `=` padding required): {e}")
            }),
            Self::Base64Url => URL_SAFE_ANY_PAD.decode(text).map_err(|e| {
                format!("not valid base64url (URL-safe alphabet A-Z a-z 0-9 - _, padding optional): {e}")
            }),
            Self::Base58 => bs58::decode(text)
                .into_vec()
                .map_err(|e| format!("not valid base58 (Bitcoin alphabet): {e}")),
            Self::Raw => Ok(text.as_bytes().to_vec()),
        }
    }
}

/// Decodes base64 written by a person or a model: whitespace is ignored,
/// padding is optional and the URL-safe alphabet is accepted too.
pub(crate) fn lenient_base64(text: &str) -> Option<Vec<u8>> {
    const STANDARD_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD_ANY_PAD
        .decode(&compact)
        .or_else(|_| URL_SAFE_ANY_PAD.decode(&compact))
        .ok()
}

/// Standard padded base64, the format of keys and signatures.
pub(crate) fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Text {
        Text {
            value: value.to_owned(),
            binary: false,
        }
    }

    #[test]
    fn base16_is_lower_case_and_decodes_either_case() {
        assert_eq!(
            Encoding::Base16.encode(&[0xde, 0xad, 0xBE, 0xef]),
            text("deadbeef")
        );
        assert_eq!(
            Encoding::Base16.decode("DEADbeef"),
            Ok(vec![0xde, 0xad, 0xbe, 0xef])
        );
        assert!(Encoding::Base16.decode("abc").is_err());
        assert!(Encoding::Base16.decode("zz").is_err());
    }

    #[test]
    fn base64_is_standard_and_padded() {
        assert_eq!(Encoding::Base64.encode(b"hello"), text("aGVsbG8="));
        assert_eq!(Encoding::Base64.encode(&[0xfb, 0xff]), text("+/8="));
        assert_eq!(Encoding::Base64.decode("aGVsbG8="), Ok(b"hello".to_vec()));
        assert!(
            Encoding::Base64.decode("aGVsbG8").is_err(),
            "padding is required"
        );
        assert!(
            Encoding::Base64.decode("-_8=").is_err(),
            "URL-safe chars are not standard"
        );
    }

    #[test]
    fn base64url_uses_the_url_safe_alphabet_without_padding() {
        assert_eq!(Encoding::Base64Url.encode(&[0xfb, 0xff]), text("-_8"));
        assert_eq!(Encoding::Base64Url.encode(b"hello"), text("aGVsbG8"));
        assert_eq!(Encoding::Base64Url.decode("-_8"), Ok(vec![0xfb, 0xff]));
        assert_eq!(Encoding::Base64Url.decode("-_8="), Ok(vec![0xfb, 0xff]));
        assert!(
            Encoding::Base64Url.decode("+/8=").is_err(),
            "standard chars are not URL-safe"
        );
    }

    #[test]
    fn base58_bitcoin_vectors() {
        assert_eq!(
            Encoding::Base58.encode(b"Hello World!"),
            text("2NEpo7TZRRrLZSi2U")
        );
        assert_eq!(
            Encoding::Base58.encode(&[0, 0, 0x28, 0x7f, 0xb4, 0xcd]),
            text("11233QC4")
        );
        assert_eq!(Encoding::Base58.encode(&[0]), text("1"));
        assert_eq!(Encoding::Base58.encode(&[]), text(""));
        assert_eq!(
            Encoding::Base58.decode("11233QC4"),
            Ok(vec![0, 0, 0x28, 0x7f, 0xb4, 0xcd])
        );
        assert_eq!(
            Encoding::Base58.decode("2NEpo7TZRRrLZSi2U"),
            Ok(b"Hello World!".to_vec())
        );
        assert!(Encoding::Base58.decode("0OIl").is_err());
    }

    #[test]
    fn raw_is_identity_and_binary_becomes_flagged_base64() {
        assert_eq!(Encoding::Raw.encode(b"plain"), text("plain"));
        assert_eq!(Encoding::Raw.decode("plain"), Ok(b"plain".to_vec()));
        assert_eq!(
            Encoding::Raw.encode(&[0xff, 0x00]),
            Text {
                value: "/wA=".to_owned(),
                binary: true
            }
        );
    }

    #[test]
    fn names_round_trip() {
        for name in NAMES {
            assert_eq!(
                Encoding::parse("encoding", name).map(Encoding::name),
                Ok(name)
            );
        }
    }

    #[test]
    fn unknown_encoding_is_invalid_args_listing_the_names() {
        assert_eq!(
            Encoding::parse("encoding", "base32"),
            Err(ToolError::invalid_args(
                "encoding",
                "unknown encoding \"base32\"; `encoding` must be one of: base16, base64, base64url, base58, raw"
            ))
        );
    }

    #[test]
    fn lenient_base64_accepts_whitespace_missing_padding_and_url_safe() {
        assert_eq!(lenient_base64("aGVs\nbG8="), Some(b"hello".to_vec()));
        assert_eq!(lenient_base64("aGVsbG8"), Some(b"hello".to_vec()));
        assert_eq!(lenient_base64("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(lenient_base64("not base64!"), None);
    }
}
