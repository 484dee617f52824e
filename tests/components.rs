//! The test-only components built by `runtime/core`'s build script, for the
//! tests of every crate.

use std::path::{Path, PathBuf};

/// The test-only `testbed` component.
pub fn testbed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tools-wasm/target/wasm32-wasip2/release/llmagent_testbed.wasm")
}

/// A copy of the testbed, written into `dir`, whose `describe()` misbehaves
/// as `mode` says: `prints` (a MiB to stdout and stderr, then answers),
/// `panics`, `sleeps` (an hour) or `spins!` (forever). The mode lives in
/// six bytes of the component's data (`DESCRIBE_MODE` in
/// `tools-wasm/testbed`), overwritten here.
///
/// # Errors
/// When the testbed cannot be read or the copy written, or the marker is
/// not in the testbed exactly once.
pub fn testbed_whose_describe(mode: &[u8; 6], dir: &Path) -> std::io::Result<PathBuf> {
    let marker = b"LLMAGENT-DESCRIBE:normal";
    let mut bytes = std::fs::read(testbed_path())?;
    let at: Vec<usize> = bytes
        .windows(marker.len())
        .enumerate()
        .filter(|(_, w)| *w == marker)
        .map(|(i, _)| i)
        .collect();
    let [start] = at[..] else {
        return Err(std::io::Error::other(format!(
            "the describe marker appears {} times in the testbed, not once",
            at.len()
        )));
    };
    let end = start + marker.len();
    bytes[end - mode.len()..end].copy_from_slice(mode);
    let path = dir.join(format!("testbed-{}.wasm", String::from_utf8_lossy(mode)));
    std::fs::write(&path, bytes)?;
    Ok(path)
}
