//! The one wasmtime `Engine` of the process, its epoch ticker, and the
//! fingerprint of its settings that keys the compiled-component cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use crate::error::RuntimeError;

/// How often the epoch advances. Tool deadlines are counted in ticks, so a
/// call stops at most one tick (plus the guest's next loop back-edge) after
/// its timeout; 5 ms keeps that well under the smallest useful timeout while
/// the ticker thread stays idle almost all the time.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Engine settings that change the machine code wasmtime produces. They are
/// part of the cache key: a `.cwasm` only loads into an identical engine.
const SETTINGS: &[(&str, &str)] = &[
    ("allocator", "pooling-or-on-demand"),
    ("epoch_interruption", "true"),
    ("opt_level", "speed"),
    ("wasm_component_model", "true"),
    ("cranelift_nan_canonicalization", "false"),
];

/// The engine plus the thread that ticks its epoch.
pub(crate) struct SandboxEngine {
    engine: Engine,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl SandboxEngine {
    /// Builds the engine and starts its ticker.
    ///
    /// Instances come from wasmtime's pooling allocator: slots reserved once
    /// and reused make a fresh instance per call about a quarter cheaper
    /// (see `bench/RESULTS.md`). Keeping freed memory resident
    /// (`linear_memory_keep_resident`) was measured too and made calls
    /// slower: zeroing 1 MiB costs more than the page faults it saves. Where the reservation fails (a tight
    /// `ulimit -v`), the engine falls back to allocating on demand.
    pub(crate) fn new() -> Result<Self, RuntimeError> {
        let engine = match Engine::new(&config(true)) {
            Ok(engine) => engine,
            Err(e) => {
                tracing::warn!(error = %e, "pooling allocator unavailable; allocating instances on demand");
                Engine::new(&config(false)).map_err(|e| RuntimeError::Engine(e.to_string()))?
            }
        };
        Self::start(engine)
    }

    /// The same engine allocating every instance on demand: for a runtime
    /// that lists and describes its tools but calls none, where reserving
    /// and freeing the pool was about a third of `tools list`'s CPU time.
    pub(crate) fn without_pool() -> Result<Self, RuntimeError> {
        Self::start(Engine::new(&config(false)).map_err(|e| RuntimeError::Engine(e.to_string()))?)
    }

    /// Starts the epoch ticker of `engine`.
    fn start(engine: Engine) -> Result<Self, RuntimeError> {
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.weak();
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("llmagent-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        match engine.upgrade() {
                            Some(engine) => engine.increment_epoch(),
                            None => break,
                        }
                    }
                })
                .map_err(|e| RuntimeError::Engine(format!("cannot start the epoch ticker: {e}")))?
        };
        Ok(Self {
            engine,
            stop,
            ticker: Some(ticker),
        })
    }

    /// The engine.
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A stable text naming wasmtime's version and the settings above.
    pub(crate) fn fingerprint() -> String {
        let mut s = format!("wasmtime={}", wasmtime_version());
        for (k, v) in SETTINGS {
            s.push_str(&format!(";{k}={v}"));
        }
        s.push_str(&format!(";target={}", std::env::consts::ARCH));
        s
    }

    /// Ticks for a timeout: rounded up, plus one because the current tick
    /// may be almost over.
    pub(crate) fn ticks_for(timeout: Duration) -> u64 {
        let tick = EPOCH_TICK.as_millis().max(1);
        (timeout.as_millis().div_ceil(tick) as u64).saturating_add(1)
    }
}

impl Drop for SandboxEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

/// The engine configuration; `pooling` picks the instance allocator, which
/// does not change the compiled code (both share one cache entry).
fn config(pooling: bool) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    config.cranelift_opt_level(OptLevel::Speed);
    config.cranelift_nan_canonicalization(false);
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        // Sized for MAX_CONCURRENT_CALLS instances of a typical component
        // (one core instance per std adapter, a memory or two, a few tables).
        pool.total_component_instances(MAX_CONCURRENT_CALLS);
        pool.total_core_instances(MAX_CONCURRENT_CALLS * 4);
        pool.total_memories(MAX_CONCURRENT_CALLS * 2);
        pool.total_tables(MAX_CONCURRENT_CALLS * 4);
        // One fiber stack per call on an async runtime's worker.
        pool.total_stacks(MAX_CONCURRENT_CALLS);
        pool.max_memory_size(MAX_MEMORY_BYTES);
        // A freed slot's memory is reset in place, only the pages the call
        // dirtied (found with PAGEMAP_SCAN where Linux ≥ 6.7 has it), up to
        // KEEP_RESIDENT per memory; the rest is decommitted as before.
        // Either way the next instance starts from the module's initial
        // image (e2e `sandbox::a_call_finds_nothing_an_earlier_call_left_in_memory`),
        // but it no longer faults in the pages every call touches.
        pool.linear_memory_keep_resident(KEEP_RESIDENT);
        pool.table_keep_resident(TABLE_KEEP_RESIDENT);
        pool.pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Tool instances alive at once (each call has one); calls beyond this are
/// refused as `too_busy` rather than queued inside wasmtime.
pub(crate) const MAX_CONCURRENT_CALLS: u32 = 256;

/// Bytes of each linear memory kept resident and reset in place when its
/// slot is freed: a Rust tool touches about a megabyte (its stack, data and
/// first heap pages).
const KEEP_RESIDENT: usize = 2 << 20;

/// The same for tables (a Rust tool's function table is a few KiB).
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// Largest linear memory a pooled slot may grow to: the policy's ceiling
/// for `memory_mib` (4 GiB); the role's own limit is enforced per call.
const MAX_MEMORY_BYTES: usize = 4 << 30;

/// The wasmtime version this binary was built with, read from `Cargo.lock`
/// by the build script.
pub(crate) fn wasmtime_version() -> &'static str {
    env!("LLMAGENT_WASMTIME_VERSION")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_up_and_add_one() {
        assert_eq!(SandboxEngine::ticks_for(Duration::from_millis(200)), 41);
        assert_eq!(SandboxEngine::ticks_for(Duration::from_millis(1)), 2);
        assert_eq!(SandboxEngine::ticks_for(Duration::from_millis(0)), 1);
    }

    #[test]
    fn fingerprint_names_version_and_settings() {
        let f = SandboxEngine::fingerprint();
        assert!(
            f.starts_with(
                "wasmtime=48.0.8;allocator=pooling-or-on-demand;epoch_interruption=true;"
            ),
            "{f}"
        );
    }
}
