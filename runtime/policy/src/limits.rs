//! [`Limits`]: the per-call limits of `[defaults]` and their per-role
//! overrides, with the range each one accepts and why.

use std::ops::RangeInclusive;

use toml::Spanned;

use crate::compile::Cx;
use crate::error::PolicyError;
use crate::raw::LimitsToml;

/// Limits on one tool call and one prompt. Every role has a full set:
/// `[defaults]` (or the built-in defaults) with the role's overrides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall clock of one tool call, in milliseconds.
    pub timeout_ms: u64,
    /// Linear memory of one tool instance, in MiB.
    pub memory_mib: u64,
    /// Cap on one tool's output (and on each capability answer), in bytes.
    pub max_output_bytes: u64,
    /// Tool round-trips per prompt before the agent stops and says so.
    pub max_steps: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout_ms: 10_000,
            memory_mib: 64,
            max_output_bytes: 1 << 20,
            max_steps: 16,
        }
    }
}

/// 1 ms to 10 minutes: a tool call that needs longer than that should be a
/// background job, not something a model waits on.
const TIMEOUT_MS: RangeInclusive<i64> = 1..=600_000;
/// 1 MiB to 4 GiB: 4 GiB is all a 32-bit wasm memory can address.
const MEMORY_MIB: RangeInclusive<i64> = 1..=4096;
/// 1 KiB to 64 MiB: less cannot carry a useful answer; more will not fit a
/// model's context anyway and only costs host memory.
const MAX_OUTPUT_BYTES: RangeInclusive<i64> = 1024..=(64 << 20);
/// 1 to 256 round-trips: beyond that a model is looping, not working.
const MAX_STEPS: RangeInclusive<i64> = 1..=256;

impl Limits {
    /// `base` with the values set in `raw` checked and applied. `section`
    /// is where `raw` came from (`defaults`, `roles.ops`).
    pub(crate) fn apply(
        base: Limits,
        raw: &LimitsToml,
        cx: &Cx<'_>,
        section: &str,
    ) -> Result<Limits, PolicyError> {
        let mut limits = base;
        if let Some(v) = checked(
            &raw.timeout_ms,
            "timeout_ms",
            TIMEOUT_MS,
            "milliseconds",
            cx,
            section,
        )? {
            limits.timeout_ms = v;
        }
        if let Some(v) = checked(
            &raw.memory_mib,
            "memory_mib",
            MEMORY_MIB,
            "MiB",
            cx,
            section,
        )? {
            limits.memory_mib = v;
        }
        if let Some(v) = checked(
            &raw.max_output_bytes,
            "max_output_bytes",
            MAX_OUTPUT_BYTES,
            "bytes",
            cx,
            section,
        )? {
            limits.max_output_bytes = v;
        }
        if let Some(v) = checked(
            &raw.max_steps,
            "max_steps",
            MAX_STEPS,
            "tool round-trips",
            cx,
            section,
        )? {
            // In range, so it fits a u32.
            limits.max_steps = u32::try_from(v).unwrap_or(u32::MAX);
        }
        Ok(limits)
    }
}

/// The value of `key` as `u64` if set, or an error naming the range.
fn checked(
    value: &Option<Spanned<i64>>,
    key: &str,
    range: RangeInclusive<i64>,
    unit: &str,
    cx: &Cx<'_>,
    section: &str,
) -> Result<Option<u64>, PolicyError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let v = *value.get_ref();
    match u64::try_from(v) {
        Ok(ok) if range.contains(&v) => Ok(Some(ok)),
        _ => Err(cx.invalid(
            value.span(),
            Some(section),
            Some(key),
            format!(
                "{v} is out of range; use a value from {} to {} ({unit})",
                range.start(),
                range.end()
            ),
        )),
    }
}
