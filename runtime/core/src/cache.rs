//! The compiled-component cache: `$XDG_CACHE_HOME/llmagent/components/`
//! (else `~/.cache/llmagent/components/`).
//!
//! An entry is named by the BLAKE3 digest of the engine fingerprint
//! (wasmtime version, settings, architecture) and of the component's bytes
//! (a built-in's compressed, as embedded: a hit decompresses nothing), so a
//! new wasmtime, other settings or another component never hit an old
//! entry. Beside each `KEY.cwasm` sits `KEY.b3`, the BLAKE3 digest of the
//! `.cwasm` itself, written last. (BLAKE3 rather than SHA-256: every start
//! hashes all built-ins and their ~8 MB of compiled code, and SHA-256 of
//! that was a third of `tools list`'s time.) A `.cwasm` is loaded only
//! when its digest matches, this user alone could have written it, and
//! wasmtime accepts it; anything else is recompiled and rewritten, never
//! trusted. Entries are written to a temporary file and renamed, so a crash
//! leaves no half-written entry.

use std::borrow::Cow;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::engine::SandboxEngine;

/// How a component was obtained (reported by `tools list` and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from a valid cache entry.
    Hit,
    /// Compiled and written to the cache.
    Compiled,
    /// Compiled; the cache was unusable (no directory, read-only, corrupt
    /// entry that could not be replaced). The reason is logged.
    CompiledUncached,
}

/// The extension of an entry's digest file.
const DIGEST_EXT: &str = "b3";

/// A component's bytes as the registry has them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    /// The component itself (a `[tools.NAME]` file).
    Wasm(&'a [u8]),
    /// LZ4-compressed, its size prepended (the built-ins, see `build.rs`).
    Lz4(&'a [u8]),
}

impl Source<'_> {
    /// The component's bytes, decompressed when they are compressed.
    pub(crate) fn wasm(&self) -> wasmtime::Result<Cow<'_, [u8]>> {
        match *self {
            Source::Wasm(bytes) => Ok(Cow::Borrowed(bytes)),
            Source::Lz4(bytes) => {
                let fail = |why: String| {
                    wasmtime::Error::msg(format!("the component does not decompress: {why}"))
                };
                let wasm = lz4_flex::block::decompress_size_prepended(bytes)
                    .map_err(|e| fail(e.to_string()))?;
                // A cut stream decompresses to less than its stated size.
                let stated = bytes
                    .first_chunk::<4>()
                    .map_or(0, |size| u32::from_le_bytes(*size) as usize);
                if wasm.len() != stated {
                    return Err(fail(format!("{} bytes of the stated {stated}", wasm.len())));
                }
                Ok(Cow::Owned(wasm))
            }
        }
    }
}

/// The cache directory, or none when caching is off.
#[derive(Debug, Clone)]
pub(crate) struct ComponentCache {
    dir: Option<PathBuf>,
}

impl ComponentCache {
    /// The default location; `None` disables caching.
    pub fn default_dir() -> Option<PathBuf> {
        let base = match std::env::var_os("XDG_CACHE_HOME") {
            Some(v) if !v.is_empty() => PathBuf::from(v),
            _ => PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
        };
        Some(base.join("llmagent").join("components"))
    }

    pub(crate) fn new(dir: Option<PathBuf>) -> Self {
        Self { dir }
    }

    /// The cache key of `source` under this binary's engine: of its bytes
    /// as they are (a compressed built-in is hashed compressed, and is not
    /// decompressed on a hit).
    pub(crate) fn key(source: Source<'_>) -> String {
        let mut h = blake3::Hasher::new();
        h.update(SandboxEngine::fingerprint().as_bytes());
        h.update(&[0u8]);
        match source {
            Source::Wasm(bytes) => h.update(bytes),
            Source::Lz4(bytes) => h.update(b"lz4\0").update(bytes),
        };
        h.finalize().to_hex().to_string()
    }

    /// Loads or compiles `source`.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        name: &str,
        source: Source<'_>,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let Some(dir) = &self.dir else {
            return Ok((
                Component::new(engine, &*source.wasm()?)?,
                CacheOutcome::CompiledUncached,
            ));
        };
        let key = Self::key(source);
        let cwasm = dir.join(format!("{key}.cwasm"));
        let digest = dir.join(format!("{key}.{DIGEST_EXT}"));
        if let Some(component) = load_verified(engine, &cwasm, &digest) {
            return Ok((component, CacheOutcome::Hit));
        }
        let component = Component::new(engine, &*source.wasm()?)?;
        match store(dir, &cwasm, &digest, &component) {
            Ok(()) => Ok((component, CacheOutcome::Compiled)),
            Err(e) => {
                tracing::warn!(tool = name, dir = %dir.display(), error = %e, "component cache not writable; continuing without it");
                Ok((component, CacheOutcome::CompiledUncached))
            }
        }
    }
}

/// The component in `cwasm` if its digest matches `digest` and wasmtime
/// accepts it; `None` (after logging why) otherwise.
fn load_verified(engine: &Engine, cwasm: &Path, digest: &Path) -> Option<Component> {
    if let Some(why) = not_ours(cwasm).or_else(|| not_ours(digest)) {
        tracing::warn!(entry = %cwasm.display(), "component cache entry {why}; recompiling");
        return None;
    }
    let expected = fs::read_to_string(digest).ok()?;
    let data = fs::read(cwasm).ok()?;
    let actual = blake3::hash(&data).to_hex();
    if expected.trim() != actual.as_str() {
        tracing::warn!(entry = %cwasm.display(), "corrupt component cache entry; recompiling");
        return None;
    }
    // SAFETY: `deserialize` runs machine code from `data` without checking
    // it. `data` is exactly what `store` below wrote for this engine: its
    // BLAKE3 digest matches the one written after it, in a directory created
    // with mode 0700 for this user. wasmtime additionally refuses data
    // produced by another version or with other settings.
    #[allow(unsafe_code)]
    let loaded = unsafe { Component::deserialize(engine, &data) };
    match loaded {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(entry = %cwasm.display(), error = %e, "stale component cache entry; recompiling");
            None
        }
    }
}

/// Why `path` may not be an entry this user wrote (its owner is another
/// user, or others may write it or its directory), if so. Native code is
/// loaded only from files only this user could have written.
fn not_ours(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    for p in [Some(path), path.parent()].into_iter().flatten() {
        let meta = match fs::symlink_metadata(p) {
            Ok(meta) => meta,
            // No entry yet: a plain miss, not a warning.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => return Some(format!("{} cannot be examined: {e}", p.display())),
        };
        if meta.uid() != me {
            return Some(format!(
                "{} belongs to uid {}, not {me}",
                p.display(),
                meta.uid()
            ));
        }
        if meta.mode() & 0o022 != 0 {
            return Some(format!(
                "{} is writable by others (mode {:o})",
                p.display(),
                meta.mode() & 0o777
            ));
        }
        if meta.file_type().is_symlink() {
            return Some(format!("{} is a symbolic link", p.display()));
        }
    }
    None
}

fn store(dir: &Path, cwasm: &Path, digest: &Path, component: &Component) -> std::io::Result<()> {
    create_private_dir(dir)?;
    let data = component.serialize().map_err(std::io::Error::other)?;
    write_atomic(dir, cwasm, &data)?;
    write_atomic(dir, digest, blake3::hash(&data).to_hex().as_bytes())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn write_atomic(dir: &Path, dest: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile_in(dir)?;
    tmp.1.write_all(data)?;
    tmp.1.sync_all()?;
    fs::rename(&tmp.0, dest)
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = format!(
        ".tmp-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    );
    let path = dir.join(name.replace(['(', ')'], ""));
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::BUILTINS;

    fn entry_paths(dir: &Path, bytes: Source<'_>) -> (PathBuf, PathBuf) {
        let key = ComponentCache::key(bytes);
        (
            dir.join(format!("{key}.cwasm")),
            dir.join(format!("{key}.{DIGEST_EXT}")),
        )
    }

    #[test]
    fn compiles_once_then_hits() {
        let engine = SandboxEngine::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(Some(dir.path().join("c")));
        let bytes = BUILTINS[0].source();
        assert_eq!(
            cache.load(engine.engine(), "t", bytes).unwrap().1,
            CacheOutcome::Compiled
        );
        assert_eq!(
            cache.load(engine.engine(), "t", bytes).unwrap().1,
            CacheOutcome::Hit
        );
    }

    /// A planted entry — valid code with a matching digest, but writable by
    /// others or owned by another user — is never loaded: native code comes
    /// only from files this user alone could have written.
    #[test]
    fn an_entry_others_could_have_written_is_recompiled_never_loaded() {
        use std::os::unix::fs::PermissionsExt;
        let engine = SandboxEngine::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(Some(dir.path().to_path_buf()));
        let bytes = BUILTINS[0].source();
        cache.load(engine.engine(), "t", bytes).unwrap();
        let (cwasm, _) = entry_paths(dir.path(), bytes);
        fs::set_permissions(&cwasm, fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(
            not_ours(&cwasm),
            Some(format!(
                "{} is writable by others (mode 666)",
                cwasm.display()
            ))
        );
        assert_eq!(
            cache.load(engine.engine(), "t", bytes).unwrap().1,
            CacheOutcome::Compiled
        );
        assert_eq!(
            cache.load(engine.engine(), "t", bytes).unwrap().1,
            CacheOutcome::Hit
        );
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(&cwasm, Some(65534), None).unwrap();
            assert_eq!(
                not_ours(&cwasm),
                Some(format!("{} belongs to uid 65534, not 0", cwasm.display()))
            );
            assert_eq!(
                cache.load(engine.engine(), "t", bytes).unwrap().1,
                CacheOutcome::Compiled
            );
        }
    }

    #[test]
    fn a_corrupt_entry_is_recompiled_and_replaced_never_loaded() {
        let engine = SandboxEngine::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(Some(dir.path().to_path_buf()));
        let bytes = BUILTINS[0].source();
        cache.load(engine.engine(), "t", bytes).unwrap();
        let (cwasm, _) = entry_paths(dir.path(), bytes);
        let mut data = fs::read(&cwasm).unwrap();
        let mid = data.len() / 2;
        data[mid] ^= 0xff;
        fs::write(&cwasm, &data).unwrap();
        assert_eq!(
            cache.load(engine.engine(), "t", bytes).unwrap().1,
            CacheOutcome::Compiled
        );
        assert_eq!(
            cache.load(engine.engine(), "t", bytes).unwrap().1,
            CacheOutcome::Hit
        );
    }

    #[test]
    fn a_missing_or_garbled_digest_means_recompile() {
        let engine = SandboxEngine::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(Some(dir.path().to_path_buf()));
        let bytes = BUILTINS[0].source();
        cache.load(engine.engine(), "t", bytes).unwrap();
        let (_, digest) = entry_paths(dir.path(), bytes);
        fs::write(&digest, "not a digest").unwrap();
        assert_eq!(
            cache.load(engine.engine(), "t", bytes).unwrap().1,
            CacheOutcome::Compiled
        );
        fs::remove_file(&digest).unwrap();
        assert_eq!(
            cache.load(engine.engine(), "t", bytes).unwrap().1,
            CacheOutcome::Compiled
        );
    }

    #[test]
    fn a_valid_digest_over_foreign_bytes_is_rejected_by_wasmtime() {
        // Someone writes garbage with a matching digest: wasmtime's own
        // header check refuses it and the entry is recompiled.
        let engine = SandboxEngine::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(Some(dir.path().to_path_buf()));
        let bytes = BUILTINS[0].source();
        let (cwasm, digest) = entry_paths(dir.path(), bytes);
        let garbage = b"\x7fELF definitely not a compiled component".to_vec();
        fs::write(&cwasm, &garbage).unwrap();
        fs::write(&digest, blake3::hash(&garbage).to_hex().as_str()).unwrap();
        assert_eq!(
            cache.load(engine.engine(), "t", bytes).unwrap().1,
            CacheOutcome::Compiled
        );
        assert_eq!(
            cache.load(engine.engine(), "t", bytes).unwrap().1,
            CacheOutcome::Hit
        );
    }

    #[test]
    fn an_unwritable_cache_still_compiles() {
        let engine = SandboxEngine::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        fs::write(&file, "").unwrap();
        let cache = ComponentCache::new(Some(file.join("sub")));
        let bytes = BUILTINS[0].source();
        assert_eq!(
            cache.load(engine.engine(), "t", bytes).unwrap().1,
            CacheOutcome::CompiledUncached
        );
    }

    #[test]
    fn the_key_depends_on_the_component() {
        let key = |b: &[u8]| ComponentCache::key(Source::Wasm(b));
        assert_ne!(key(b"a"), key(b"b"));
        assert_eq!(key(b"a"), key(b"a"));
        // The same bytes compressed or not are different components.
        assert_ne!(key(b"a"), ComponentCache::key(Source::Lz4(b"a")));
    }

    #[test]
    fn every_builtin_decompresses_to_a_component_and_a_corrupt_one_is_an_error() {
        for b in BUILTINS {
            let wasm = b.wasm().unwrap();
            // A component's preamble: magic, version 0x0d, layer 1.
            assert_eq!(&wasm[..8], b"\0asm\x0d\0\x01\0", "{}", b.name);
            assert!(
                b.lz4.len() < wasm.len(),
                "{} is not smaller compressed",
                b.name
            );
        }
        let lz4 = BUILTINS[0].lz4;
        let cut = Source::Lz4(&lz4[..lz4.len() / 2]);
        let err = cut.wasm().map(|_| ()).unwrap_err().to_string();
        assert!(
            err.starts_with("the component does not decompress: "),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let engine = SandboxEngine::new().unwrap();
        let cache = ComponentCache::new(Some(dir.path().to_path_buf()));
        let refused = cache
            .load(engine.engine(), "t", cut)
            .map(|_| ())
            .unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("the component does not decompress: ")
        );
    }
}
