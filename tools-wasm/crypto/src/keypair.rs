//! What `generate_keypair` hands back, shared by the algorithm modules.

use llmagent_guest::ToolError;

/// How a generated key pair is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Base64 of the raw key bytes.
    Raw,
    /// PKCS#8 private key and SPKI public key, PEM.
    Pem,
}

impl Format {
    /// The format names, as the schema lists them.
    pub(crate) const NAMES: [&str; 2] = ["raw", "pem"];

    /// Parses a format name (the schema's enum is already checked by
    /// [`llmagent_guest::Args::opt_choice`], but keep this total).
    pub(crate) fn parse(name: &str) -> Result<Self, ToolError> {
        match name {
            "raw" => Ok(Self::Raw),
            "pem" => Ok(Self::Pem),
            other => Err(ToolError::invalid_args(
                "format",
                format!("argument `format` must be one of raw, pem, got \"{other}\""),
            )),
        }
    }

    /// The format's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Pem => "pem",
        }
    }
}

/// A generated key pair as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyPair {
    /// The secret half.
    pub(crate) private_key: String,
    /// The public half.
    pub(crate) public_key: String,
}
