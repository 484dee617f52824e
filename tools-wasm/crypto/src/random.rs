//! Random bytes from the host's secure source (`wasi:random` under
//! wasm32-wasip2, the OS elsewhere), never from a fixed seed.

use llmagent_guest::ToolError;

/// `N` random bytes; a failing source is `crypto_error`, never a weak key.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N], ToolError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| {
        ToolError::new(
            "crypto_error",
            format!("the secure random source failed: {e}"),
        )
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_draws_differ() {
        let (a, b) = (bytes::<32>(), bytes::<32>());
        assert!(a.is_ok());
        assert_ne!(a, b);
    }
}
