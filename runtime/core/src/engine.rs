//! The one wasmtime `Engine` of the process, its epoch ticker, and the
//! fingerprint of its settings that keys the compiled-component cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, OptLevel};

use crate::error::RuntimeError;

/// How often the epoch advances. Tool deadlines are counted in ticks, so a
/// call stops at most one tick (plus the guest's next loop back-edge) after
/// its timeout; 5 ms keeps that well under the smallest useful timeout while
/// the ticker thread stays idle almost all the time.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Engine settings that change the machine code wasmtime produces. They are
/// part of the cache key: a `.cwasm` only loads into an identical engine.
const SETTINGS: &[(&str, &str)] = &[
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
    pub(crate) fn new() -> Result<Self, RuntimeError> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        config.cranelift_opt_level(OptLevel::Speed);
        config.cranelift_nan_canonicalization(false);
        let engine = Engine::new(&config).map_err(|e| RuntimeError::Engine(e.to_string()))?;
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
            f.starts_with("wasmtime=48.0.8;epoch_interruption=true;"),
            "{f}"
        );
    }
}
