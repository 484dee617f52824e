//! One tool call in a fresh `Store`: host state, limits, the call itself,
//! and traps mapped to precise reasons.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use host_capabilities::http::HttpHooks;
use host_capabilities::{Capabilities, Grants, Sink, ToolError, ToolOutput, ToolWorldPre};
use wasmtime::component::{ComponentExportIndex, InstancePre, Linker, Resource, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store, StoreContextMut, Trap, UpdateDeadline};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::capture::Capture;
use crate::engine::SandboxEngine;
use crate::outcome::{ToolFailure, ToolSuccess};
use crate::reason::Reason;

/// Captured stdout and stderr are each capped at this many bytes: enough
/// for a panic message and some diagnostics, small enough to keep in every
/// invocation event.
pub const STDIO_CAP: usize = 16 * 1024;

/// Tables (function references) a tool may hold; Rust tools use a few
/// hundred entries, this stops a runaway `table.grow`.
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// The data of one call's `Store`.
pub(crate) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: HttpHooks,
    pub(crate) caps: Capabilities,
    limiter: Limiter,
    /// When the call must be over; every wait inside WASI ends by then.
    deadline: Instant,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Memory and table caps that also remember when they said no, so a trap
/// after a refused `memory.grow` is reported as `memory_limit`. The memory
/// cap is on the sum of every linear memory of every instance of the call:
/// a component with several memories gets the role's `memory_mib` in all,
/// not each.
struct Limiter {
    memory_max: usize,
    memory_refused: bool,
    /// Bytes of linear memory the call holds now, over all its memories.
    memory_total: usize,
}

/// Core instances, memories and tables one call may create: a Rust tool
/// needs a handful of each (its module, the WASI adapter's), interpreters
/// compiled to components a few dozen.
const MAX_INSTANCES: usize = 64;
const MAX_MEMORIES: usize = 64;
const MAX_TABLES: usize = 256;

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .memory_total
            .saturating_sub(current)
            .saturating_add(desired);
        if total > self.memory_max {
            self.memory_refused = true;
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} MiB reached",
                self.memory_max >> 20
            )));
        }
        self.memory_total = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }
}

/// The two linkers every tool is linked with, granting the same imports:
/// WASI (so `std` links; the context grants nothing), `wasi:http` (decided
/// by the role's `[roles.R.http]`, see [`HttpHooks`]), and the capability
/// interfaces.
pub(crate) struct Linkers {
    /// For calls that hold their thread ([`invoke`], [`describe`]): WASI's
    /// waits block it.
    pub(crate) blocking: Linker<State>,
    /// For calls on an async runtime's worker ([`invoke_async`]): the call
    /// runs on a fiber, WASI's waits and `wasi:http` yield to the runtime,
    /// and the capabilities (synchronous host functions) run on the fiber.
    pub(crate) fibers: Linker<State>,
}

impl Linkers {
    pub(crate) fn new(engine: &Engine) -> wasmtime::Result<Self> {
        let mut blocking = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut blocking)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut blocking)?;
        host_capabilities::add_to_linker(&mut blocking, |s: &mut State| &mut s.caps)?;
        end_waits_at_the_deadline(&mut blocking)?;
        let mut fibers = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut fibers)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut fibers)?;
        host_capabilities::add_to_linker(&mut fibers, |s: &mut State| &mut s.caps)?;
        end_async_waits_at_the_deadline(&mut fibers)?;
        Ok(Self { blocking, fibers })
    }
}

/// `wasi:io/poll` as wasmtime-wasi 48 links it; guests built against any
/// `0.2.x` are matched to it by semver.
const IO_POLL: &str = "wasi:io/poll@0.2.12";

/// The epoch deadline stops a guest that runs wasm, but not one blocked in
/// the host: a guest waiting on a pollable (`std::thread::sleep`, a clock
/// subscription, `poll`) would hold its thread past the role's timeout.
/// Every WASI wait goes through `pollable.block` or `poll`, so those two
/// are replaced by the same waits ended at the call's deadline, where the
/// call traps with `Trap::Interrupt` (reported as `timeout`). Here they
/// block the thread (inside the runtime `in_tokio` enters).
fn end_waits_at_the_deadline(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut poll = linker.instance(IO_POLL)?;
    poll.func_wrap(
        "[method]pollable.block",
        |mut store: StoreContextMut<'_, State>, (pollable,): (Resource<DynPollable>,)| {
            wasmtime_wasi::runtime::in_tokio(block_by_deadline(store.data_mut(), pollable))
        },
    )?;
    poll.func_wrap(
        "poll",
        |mut store: StoreContextMut<'_, State>, (pollables,): (Vec<Resource<DynPollable>>,)| {
            wasmtime_wasi::runtime::in_tokio(poll_by_deadline(store.data_mut(), pollables))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// [`end_waits_at_the_deadline`] for the fibers' linker: the same two
/// waits, awaited on the call's task instead of blocking its thread.
fn end_async_waits_at_the_deadline(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut poll = linker.instance(IO_POLL)?;
    poll.func_wrap_async(
        "[method]pollable.block",
        |mut store: StoreContextMut<'_, State>, (pollable,): (Resource<DynPollable>,)| {
            Box::new(async move { block_by_deadline(store.data_mut(), pollable).await })
        },
    )?;
    poll.func_wrap_async(
        "poll",
        |mut store: StoreContextMut<'_, State>, (pollables,): (Vec<Resource<DynPollable>>,)| {
            Box::new(async move { poll_by_deadline(store.data_mut(), pollables).await })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// `pollable.block`, ended at the call's deadline.
async fn block_by_deadline(
    state: &mut State,
    pollable: Resource<DynPollable>,
) -> wasmtime::Result<()> {
    use wasmtime_wasi::p2::bindings::io::poll::HostPollable as _;
    let deadline = state.deadline;
    by_deadline(deadline, state.table.block(pollable)).await
}

/// `poll`, ended at the call's deadline.
async fn poll_by_deadline(
    state: &mut State,
    pollables: Vec<Resource<DynPollable>>,
) -> wasmtime::Result<(Vec<u32>,)> {
    use wasmtime_wasi::p2::bindings::io::poll::Host as _;
    let deadline = state.deadline;
    by_deadline(deadline, state.table.poll(pollables))
        .await
        .map(|ready| (ready,))
}

/// Runs a WASI wait to its end or to `deadline`, whichever comes first; at
/// the deadline the call traps as a timeout.
async fn by_deadline<T>(
    deadline: Instant,
    wait: impl Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    let deadline = tokio::time::Instant::from_std(deadline);
    tokio::time::timeout_at(deadline, wait)
        .await
        .map_err(|_elapsed| wasmtime::Error::new(Trap::Interrupt))?
}

/// Limits of one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallLimits {
    pub(crate) timeout: Duration,
    pub(crate) memory_bytes: usize,
    pub(crate) max_output_bytes: usize,
}

/// What one call produced, before policy-level wrapping.
pub(crate) struct RawOutcome {
    pub(crate) result: Result<ToolSuccess, ToolFailure>,
    pub(crate) stdout: (String, bool),
    pub(crate) stderr: (String, bool),
    pub(crate) duration: Duration,
}

/// A fresh store for one call.
fn new_store(
    engine: &Engine,
    caps: Capabilities,
    limits: CallLimits,
) -> (Store<State>, Capture, Capture) {
    let stdout = Capture::new(STDIO_CAP);
    let stderr = Capture::new(STDIO_CAP);
    let wasi = WasiCtx::builder()
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    let state = State {
        wasi,
        table: ResourceTable::new(),
        http: WasiHttpCtx::new(),
        hooks: caps.http_hooks(),
        caps: caps.with_deadline(Instant::now() + limits.timeout),
        limiter: Limiter {
            memory_max: limits.memory_bytes,
            memory_refused: false,
            memory_total: 0,
        },
        deadline: Instant::now() + limits.timeout,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    store.set_epoch_deadline(SandboxEngine::ticks_for(limits.timeout));
    (store, stdout, stderr)
}

/// Runs `describe` in a fresh instance, under the same limits as a call;
/// a trap is mapped as a call's would be (`timeout`, `memory_limit`,
/// `tool_crashed` with the panic message).
pub(crate) fn describe(
    engine: &Engine,
    pre: &ToolWorldPre<State>,
    grants: Arc<Grants>,
    sink: Arc<dyn Sink>,
    limits: CallLimits,
) -> Result<host_capabilities::ToolSpec, ToolFailure> {
    let (mut store, _stdout, stderr) = new_store(engine, Capabilities::new(grants, sink), limits);
    store.epoch_deadline_trap();
    let described = pre
        .instantiate(&mut store)
        .and_then(|instance| instance.llmagent_tools_tool().call_describe(&mut store));
    let memory_refused = store.data().limiter.memory_refused;
    drop(store);
    described.map_err(|trap| map_trap(&trap, memory_refused, limits, &stderr.take().0))
}

/// Runs `invoke(action, args_json)` in a fresh instance with `caps` (the
/// call's grants, sink and agent state) and maps the result, on this
/// thread.
pub(crate) fn invoke(
    engine: &Engine,
    pre: &ToolWorldPre<State>,
    caps: Capabilities,
    limits: CallLimits,
    action: &str,
    args_json: &str,
) -> RawOutcome {
    let started = Instant::now();
    let (mut store, stdout, stderr) = new_store(engine, caps, limits);
    store.epoch_deadline_trap();
    // A panic in a host function unwinds through the guest to here; it is a
    // host bug, but it must cost this call only, never the process.
    let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pre.instantiate(&mut store).and_then(|instance| {
            instance
                .llmagent_tools_tool()
                .call_invoke(&mut store, action, args_json)
        })
    }))
    .unwrap_or_else(|panic| Err(host_panic(action, &*panic)));
    finish(called, started, store, &stdout, &stderr, limits)
}

/// A component linked with [`Linkers::fibers`], and where its `invoke` is.
pub(crate) struct FiberPre {
    pub(crate) pre: InstancePre<State>,
    pub(crate) invoke: ComponentExportIndex,
}

/// [`invoke`] on a fiber of the calling task, for a worker of a
/// multi-threaded tokio runtime: the task is not handed to another thread,
/// WASI waits yield to the runtime, and a guest that computes yields at
/// every epoch tick (so it holds its worker no longer than a tick at a
/// time), until the deadline traps it. A capability that may block for
/// long leaves the worker first (`host_capabilities::blocking`).
pub(crate) async fn invoke_async(
    engine: &Engine,
    pre: &FiberPre,
    caps: Capabilities,
    limits: CallLimits,
    action: &str,
    args_json: &str,
) -> RawOutcome {
    let started = Instant::now();
    let (mut store, stdout, stderr) = new_store(engine, caps, limits);
    let deadline = store.data().deadline;
    // tokio's own yield: the task goes behind the others and the worker
    // polls its timers and I/O before it comes back (a plain wake would
    // put it first again).
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline {
            Err(wasmtime::Error::new(Trap::Interrupt))
        } else {
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::task::yield_now()),
            ))
        }
    });
    store.set_epoch_deadline(1);
    let called = std::panic::AssertUnwindSafe(async {
        let instance = pre.pre.instantiate_async(&mut store).await?;
        let invoke = instance.get_typed_func::<(&str, &str), (Result<ToolOutput, ToolError>,)>(
            &mut store,
            &pre.invoke,
        )?;
        let (result,) = invoke.call_async(&mut store, (action, args_json)).await?;
        Ok(result)
    })
    .catch_unwind()
    .await
    .unwrap_or_else(|panic| Err(host_panic(action, &*panic)));
    finish(called, started, store, &stdout, &stderr, limits)
}

/// A host function's panic, as the call's error.
fn host_panic(action: &str, panic: &(dyn std::any::Any + Send)) -> wasmtime::Error {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    tracing::error!(action, panic = %what, "a host capability panicked during a tool call");
    wasmtime::Error::msg(format!("host capability failed: {what}"))
}

/// Ends a call: frees its store, then maps what it returned.
fn finish(
    called: wasmtime::Result<Result<ToolOutput, ToolError>>,
    started: Instant,
    store: Store<State>,
    stdout: &Capture,
    stderr: &Capture,
    limits: CallLimits,
) -> RawOutcome {
    let duration = started.elapsed();
    let memory_refused = store.data().limiter.memory_refused;
    drop(store);
    let stderr = stderr.take();
    let result = match called {
        Ok(Ok(out)) => success(out, limits.max_output_bytes),
        Ok(Err(e)) => Err(ToolFailure {
            reason: e.reason,
            message: e.message,
            field: e.field,
            suggestion: e.suggestion,
        }),
        Err(trap) => Err(map_trap(&trap, memory_refused, limits, &stderr.0)),
    };
    RawOutcome {
        result,
        stdout: stdout.take(),
        stderr,
        duration,
    }
}

fn success(out: host_capabilities::ToolOutput, max: usize) -> Result<ToolSuccess, ToolFailure> {
    let size = out.output_json.len() + out.metadata_json.len();
    if size > max {
        return Err(ToolFailure::new(
            Reason::OutputTooLarge,
            format!("the tool answered {size} bytes, more than the role's max_output_bytes of {max}"),
        )
        .suggestion("ask for less (a smaller file, a narrower query), or raise max_output_bytes in [defaults] or the role"));
    }
    let output = serde_json::from_str(&out.output_json).map_err(|e| {
        ToolFailure::new(
            Reason::InvalidOutput,
            format!("the tool's output is not valid JSON: {e}"),
        )
    })?;
    let metadata = serde_json::from_str(&out.metadata_json).map_err(|e| {
        ToolFailure::new(
            Reason::InvalidOutput,
            format!("the tool's metadata is not valid JSON: {e}"),
        )
    })?;
    Ok(ToolSuccess { output, metadata })
}

/// What a crashed tool said last on stderr: for a Rust panic, the panic
/// message and where it happened; otherwise the last line that is not
/// Rust's backtrace hint.
fn last_words(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(at) = lines.iter().rposition(|l| l.contains("panicked at")) {
        let location = lines[at]
            .split_once("panicked at")
            .map(|(_, loc)| loc.trim().trim_end_matches(':'));
        let message: Vec<&str> = lines[at + 1..]
            .iter()
            .take_while(|l| !l.starts_with("note:"))
            .copied()
            .collect();
        let message = message.join(" ");
        return Some(match location {
            Some(loc) if !loc.is_empty() => format!("panicked at {loc}: {message}"),
            _ => format!("panicked: {message}"),
        });
    }
    lines
        .iter()
        .rev()
        .find(|l| !l.starts_with("note:"))
        .map(|l| (*l).to_owned())
}

/// Maps a trap to `timeout`, `memory_limit` or `tool_crashed`.
fn map_trap(
    err: &wasmtime::Error,
    memory_refused: bool,
    limits: CallLimits,
    stderr: &str,
) -> ToolFailure {
    if matches!(err.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
        return ToolFailure::new(
            Reason::Timeout,
            format!(
                "the tool did not finish within {} ms and was stopped",
                limits.timeout.as_millis()
            ),
        )
        .suggestion("simplify the request, or raise timeout_ms in [defaults] or the role");
    }
    if memory_refused {
        return ToolFailure::new(
            Reason::MemoryLimit,
            format!(
                "the tool needed more than its {} MiB of memory and was stopped",
                limits.memory_bytes >> 20
            ),
        )
        .suggestion("ask for less data at once, or raise memory_mib in [defaults] or the role");
    }
    let detail = match last_words(stderr) {
        Some(words) => format!("{words} ({})", err.root_cause()),
        None => format!("{:#}", err.root_cause()),
    };
    ToolFailure::new(Reason::ToolCrashed, format!("the tool crashed: {detail}"))
        .suggestion("the tool has a bug; the runtime carries on and the next call starts afresh")
}

#[cfg(test)]
mod tests {
    use super::{Limiter, last_words};
    use wasmtime::ResourceLimiter;

    /// Two memories of 40 MiB each do not fit a 64 MiB cap: the cap is on
    /// the sum, and a refusal is remembered.
    #[test]
    fn the_memory_cap_is_on_the_sum_of_all_memories() {
        const MIB: usize = 1 << 20;
        let mut limiter = Limiter {
            memory_max: 64 * MIB,
            memory_refused: false,
            memory_total: 0,
        };
        assert!(limiter.memory_growing(0, 40 * MIB, None).is_ok());
        assert!(limiter.memory_growing(0, 20 * MIB, None).is_ok());
        // The first memory grows within its own 40 MiB → 44 MiB: 64 in all.
        assert!(limiter.memory_growing(40 * MIB, 44 * MIB, None).is_ok());
        assert!(!limiter.memory_refused);
        assert!(limiter.memory_growing(20 * MIB, 21 * MIB, None).is_err());
        assert!(limiter.memory_refused);
        assert_eq!(limiter.memory_total, 64 * MIB);
    }

    #[test]
    fn a_rust_panic_is_reported_with_its_message_and_location() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:40:22:\nboom here\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            last_words(stderr).as_deref(),
            Some("panicked at src/lib.rs:40:22: boom here")
        );
    }

    #[test]
    fn otherwise_the_last_line_counts_and_silence_is_none() {
        assert_eq!(last_words("a\nb\n").as_deref(), Some("b"));
        assert_eq!(last_words("  \n"), None);
    }
}
