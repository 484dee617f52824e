//! The tool's actions: typed arguments in, an [`Output`] with the seed's
//! output and metadata shapes out. The cryptography lives in the modules
//! named after each algorithm; this file only reads arguments and shapes
//! answers.

use llmagent_guest::{Args, Output, ToolError};
use serde_json::json;

use crate::encoding::{Encoding, Text, base64, lenient_base64};
use crate::keypair::Format;
use crate::{digest, ecdsa, ed25519, random};

/// The signature algorithms, as the `type` argument names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyType {
    Ed25519,
    Ecdsa,
}

/// The `type` names, as the schemas list them.
pub(crate) const KEY_TYPES: [&str; 2] = ["ed25519", "ecdsa"];

/// Allowed `bits` for `generate_key`.
pub(crate) const KEY_BITS: [u64; 2] = [128, 256];

/// Draws for a P-256 scalar before giving up; one draw fails with
/// probability ~2⁻³², so more than one failure means a broken source.
const P256_DRAWS: usize = 4;

impl KeyType {
    fn name(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::Ecdsa => "ecdsa",
        }
    }

    /// `type`, or `None` when absent.
    fn from_args(args: &Args) -> Result<Option<Self>, ToolError> {
        Ok(args.opt_choice("type", &KEY_TYPES)?.map(|name| match name {
            "ecdsa" => Self::Ecdsa,
            _ => Self::Ed25519,
        }))
    }

    /// `type`, required.
    fn required(args: &Args) -> Result<Self, ToolError> {
        Self::from_args(args)?
            .ok_or_else(|| ToolError::invalid_args("type", "missing required argument `type`"))
    }
}

/// `encoding`, or `default` when absent.
fn encoding_or(args: &Args, default: Encoding) -> Result<Encoding, ToolError> {
    match args.opt_str("encoding")? {
        None => Ok(default),
        Some(name) => Encoding::parse("encoding", name),
    }
}

/// An encoded value: the text, with `{encoding, binary}` metadata.
fn encoded(text: Text, encoding: Encoding) -> Output {
    Output::new(text.value)
        .meta("encoding", encoding.name())
        .meta("binary", text.binary)
}

/// `sha256 {data, encoding?}`.
pub(crate) fn sha256(args: &Args) -> Result<Output, ToolError> {
    let data = args.str("data")?;
    let encoding = encoding_or(args, Encoding::Base16)?;
    let digest = digest::sha256(data.as_bytes());
    Ok(encoded(encoding.encode(&digest), encoding).meta("algorithm", "sha256"))
}

/// `hmac {key, data, encoding?}`.
pub(crate) fn hmac(args: &Args) -> Result<Output, ToolError> {
    let key = args.str("key")?;
    let data = args.str("data")?;
    let encoding = encoding_or(args, Encoding::Base16)?;
    let mac = digest::hmac_sha256(key.as_bytes(), data.as_bytes());
    Ok(encoded(encoding.encode(&mac), encoding).meta("algorithm", "hmac-sha256"))
}

/// `generate_key {bits?, encoding?}`.
pub(crate) fn generate_key(args: &Args) -> Result<Output, ToolError> {
    let bits = match args.opt_u64("bits")? {
        None => 256,
        Some(bits) if KEY_BITS.contains(&bits) => bits,
        Some(bits) => {
            return Err(ToolError::invalid_args(
                "bits",
                format!("argument `bits` must be 128 or 256, got {bits}"),
            ));
        }
    };
    let encoding = encoding_or(args, Encoding::Base64)?;
    let key = random::bytes::<32>()?;
    let key = key.get(..(bits / 8) as usize).unwrap_or(&key);
    Ok(encoded(encoding.encode(key), encoding)
        .meta("type", "symmetric")
        .meta("bits", bits))
}

/// `generate_keypair {type?, format?}`.
pub(crate) fn generate_keypair(args: &Args) -> Result<Output, ToolError> {
    let key_type = KeyType::from_args(args)?.unwrap_or(KeyType::Ed25519);
    let format = match args.opt_choice("format", &Format::NAMES)? {
        Some(name) => Format::parse(name)?,
        None if key_type == KeyType::Ecdsa => Format::Pem,
        None => Format::Raw,
    };
    match key_type {
        KeyType::Ed25519 => {
            let pair = ed25519::keypair(&random::bytes::<32>()?, format)?;
            Ok(Output::new(json!({
                "type": "ed25519",
                "private_key": pair.private_key,
                "public_key": pair.public_key,
            }))
            .meta("type", "ed25519")
            .meta("format", format.name()))
        }
        KeyType::Ecdsa => {
            let mut secret = None;
            for _ in 0..P256_DRAWS {
                secret = ecdsa::secret_from_bytes(&random::bytes::<32>()?);
                if secret.is_some() {
                    break;
                }
            }
            let secret = secret.ok_or_else(|| {
                ToolError::new(
                    "crypto_error",
                    "the random source kept yielding invalid P-256 scalars",
                )
            })?;
            let pair = ecdsa::keypair(&secret, format)?;
            Ok(Output::new(json!({
                "type": "ecdsa",
                "curve": ecdsa::CURVE,
                "private_key": pair.private_key,
                "public_key": pair.public_key,
            }))
            .meta("type", "ecdsa")
            .meta("curve", ecdsa::CURVE)
            .meta("format", format.name()))
        }
    }
}

/// `sign {type, data, private_key}`.
pub(crate) fn sign(args: &Args) -> Result<Output, ToolError> {
    let key_type = KeyType::required(args)?;
    let data = args.str("data")?.as_bytes();
    let private_key = args.str("private_key")?;
    let signature = match key_type {
        KeyType::Ed25519 => ed25519::sign(&ed25519::signing_key(private_key)?, data),
        KeyType::Ecdsa => ecdsa::sign(&ecdsa::signing_key(private_key)?, data),
    };
    Ok(Output::new(base64(&signature))
        .meta("type", key_type.name())
        .meta("action", "sign"))
}

/// `verify {type, data, signature, public_key}`.
pub(crate) fn verify(args: &Args) -> Result<Output, ToolError> {
    let key_type = KeyType::required(args)?;
    let data = args.str("data")?.as_bytes();
    let signature = lenient_base64(args.str("signature")?)
        .ok_or_else(|| ToolError::invalid_args("signature", "`signature` is not valid base64"))?;
    let public_key = args.str("public_key")?;
    let valid = match key_type {
        KeyType::Ed25519 => {
            let key = ed25519::verifying_key(public_key)?;
            ed25519::verify(&key, data, &ed25519::signature(&signature)?)
        }
        KeyType::Ecdsa => {
            let key = ecdsa::verifying_key(public_key)?;
            ecdsa::verify(&key, data, &ecdsa::signature(&signature)?)
        }
    };
    Ok(Output::new(valid)
        .meta("type", key_type.name())
        .meta("action", "verify"))
}

/// `encode {data, encoding}`.
pub(crate) fn encode(args: &Args) -> Result<Output, ToolError> {
    let data = args.str("data")?;
    let encoding = Encoding::parse("encoding", args.str("encoding")?)?;
    Ok(Output::new(encoding.encode(data.as_bytes()).value).meta("encoding", encoding.name()))
}

/// `decode {data, encoding}`.
pub(crate) fn decode(args: &Args) -> Result<Output, ToolError> {
    let data = args.str("data")?;
    let encoding = Encoding::parse("encoding", args.str("encoding")?)?;
    let bytes = encoding
        .decode(data)
        .map_err(|why| ToolError::invalid_args("data", format!("`data` is {why}")))?;
    Ok(encoded(Text::from_bytes(bytes), encoding))
}
