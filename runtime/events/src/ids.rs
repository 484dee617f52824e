//! Random ids: `req_` / `trace_` / `sec_` + 16 lower-case hex digits, as the seed.

/// `prefix` followed by 16 hex digits from the OS random source.
pub(crate) fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness is near-impossible on Linux; fall back to time and
        // a counter so that ids stay unique within the process.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        bytes = (t ^ n.rotate_left(32)).to_be_bytes();
    }
    format!("{prefix}{:016x}", u64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_the_seed_shape() {
        let a = super::new_id("req_");
        let b = super::new_id("req_");
        assert_eq!(a.len(), 20);
        assert!(a.starts_with("req_"));
        assert!(
            a[4..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
    }
}
