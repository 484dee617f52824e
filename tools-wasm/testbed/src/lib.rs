//! `testbed`: a test-only tool whose actions misbehave on purpose, so the
//! runtime's limits can be shown to hold. It is built with the other tools
//! but never embedded in the `llmagent` binary; tests load it by path.
//! It also calls `wasi:http` directly (`http_get`), as a third-party
//! component could.

use llmagent_guest::bindings::wasi::http::{outgoing_handler, types as http};
use llmagent_guest::{Action, Args, Output, Spec, Tool, ToolError};
use serde_json::json;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

struct Testbed;

/// Set by `leave`, read by `look`: a fresh instance starts at 0.
static MARK: AtomicU64 = AtomicU64::new(0);

/// How `describe()` behaves. Tests copy the component and overwrite the six
/// bytes after the colon (in the file's data segment) to make `describe()`
/// misbehave: `prints` (a MiB to stdout and stderr, then answers),
/// `panics`, `sleeps` (for an hour) or `spins!` (forever).
static DESCRIBE_MODE: [u8; 24] = *b"LLMAGENT-DESCRIBE:normal";

fn misbehave_in_describe() {
    // `black_box` keeps the compiler from folding the bytes it can see
    // here: the test changes them in the file.
    let mode: &[u8; 24] = std::hint::black_box(&DESCRIBE_MODE);
    match &mode[18..] {
        b"prints" => {
            let line = "y".repeat(1 << 20);
            print!("{line}");
            eprint!("{line}");
            let _ = std::io::stdout().flush();
        }
        b"panics" => panic!("testbed was built to panic in describe"),
        b"sleeps" => std::thread::sleep(std::time::Duration::from_secs(3600)),
        b"spins!" => spin(),
        _ => {}
    }
}

impl Tool for Testbed {
    fn spec() -> Spec {
        misbehave_in_describe();
        Spec::new(
            "testbed",
            "Misbehaves on purpose; for tests only.",
            env!("CARGO_PKG_VERSION"),
        )
        .action(Action::new("noop", "Answer at once with an empty output."))
        .action(
            Action::new("echo", "Answer with the arguments given.").optional(
                "value",
                || json!({}),
                "Any JSON value",
            ),
        )
        .action(Action::new("spin", "Loop forever."))
        .action(
            Action::new("sleep", "Sleep in WASI, without using the CPU.")
                .required(
                    "ms",
                    || json!({"type": "integer", "minimum": 0}),
                    "How long",
                )
                .optional(
                    "how",
                    || json!({"type": "string", "enum": ["thread", "instant", "poll"]}),
                    "`thread` (std::thread::sleep, the default), `instant` (block on a pollable for a monotonic instant) or `poll` (wasi:io/poll on a duration)",
                ),
        )
        .action(Action::new("hog", "Allocate memory without bound."))
        .action(Action::new("panic", "Panic."))
        .action(
            Action::new("print", "Write `bytes` bytes to stdout and to stderr.").required(
                "bytes",
                || json!({"type": "integer", "minimum": 0}),
                "How many",
            ),
        )
        .action(
            Action::new(
                "http_get",
                "Try an outgoing HTTP request through wasi:http.",
            )
            .required("authority", || json!({"type": "string"}), "host[:port]"),
        )
        .action(
            Action::new(
                "leave",
                "Leave traces for the next call: set a static to `mark`, fill 4 MiB of fresh heap with 0xA5 and keep it; answer the static's old value.",
            )
            .required("mark", || json!({"type": "integer", "minimum": 1}), "The value"),
        )
        .action(Action::new(
            "look",
            "Look for a previous call's traces: answer the static, and how many bytes of 8 MiB of fresh zeroed heap are not zero.",
        ))
        .action(
            Action::new(
                "probe",
                "Stat `path` through the fs capability `times` times; answer how many were refused.",
            )
            .required("path", || json!({"type": "string"}), "An absolute path")
            .required(
                "times",
                || json!({"type": "integer", "minimum": 0}),
                "How many times",
            ),
        )
    }

    fn invoke(action: &str, args: Args) -> Result<Output, ToolError> {
        match action {
            "noop" => Ok(Output::new(serde_json::Value::Null)),
            "echo" => Ok(Output::new(
                args.value("value").cloned().unwrap_or_default(),
            )),
            "spin" => spin(),
            "sleep" => sleep(args.u64("ms")?, args.opt_str("how")?.unwrap_or("thread")),
            "hog" => hog(),
            "panic" => panic!("testbed was asked to panic"),
            "print" => {
                let n = args.u64("bytes")? as usize;
                let line = "x".repeat(n);
                print!("{line}");
                eprint!("{line}");
                // Rust's stdout is line-buffered and a tool instance never
                // exits, so a tool that prints must flush.
                let _ = std::io::stdout().flush();
                Ok(Output::new(n))
            }
            "http_get" => http_get(args.str("authority")?),
            "leave" => {
                let old = MARK.swap(args.u64("mark")?, Ordering::Relaxed);
                // Grown memory, written and kept to the instance's end.
                std::mem::forget(std::hint::black_box(vec![0xA5u8; 4 << 20]));
                Ok(Output::new(old))
            }
            "look" => {
                // A large zeroed allocation comes from `memory.grow`, which
                // the allocator trusts to be zero and does not clear: any
                // byte left by an earlier instance in that slot shows here.
                let fresh = std::hint::black_box(vec![0u8; 8 << 20]);
                let dirty = fresh.iter().filter(|b| **b != 0).count();
                Ok(Output::new(
                    json!({"static": MARK.load(Ordering::Relaxed), "dirty_bytes": dirty}),
                ))
            }
            "probe" => {
                let path = args.str("path")?;
                let refused = (0..args.u64("times")?)
                    .filter(|_| llmagent_guest::fs::stat(path).is_err())
                    .count();
                Ok(Output::new(refused))
            }
            other => Err(ToolError::unknown_action(other)),
        }
    }
}

fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn sleep(ms: u64, how: &str) -> Result<Output, ToolError> {
    use llmagent_guest::bindings::wasi::clocks::monotonic_clock;
    use llmagent_guest::bindings::wasi::io::poll;
    let nanos = ms.saturating_mul(1_000_000);
    match how {
        "instant" => {
            monotonic_clock::subscribe_instant(monotonic_clock::now().saturating_add(nanos)).block()
        }
        "poll" => {
            let pollable = monotonic_clock::subscribe_duration(nanos);
            let _ = poll::poll(&[&pollable]);
        }
        _ => std::thread::sleep(std::time::Duration::from_millis(ms)),
    }
    Ok(Output::new(ms))
}

fn hog() -> Result<Output, ToolError> {
    let mut held: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        chunk[0] = 1;
        held.push(std::hint::black_box(chunk));
    }
}

fn http_get(authority: &str) -> Result<Output, ToolError> {
    let request = http::OutgoingRequest::new(http::Fields::new());
    let _ = request.set_scheme(Some(&http::Scheme::Http));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some("/"));
    let pending = outgoing_handler::handle(request, None)
        .map_err(|code| ToolError::new("http_error", format!("{code:?}")))?;
    pending.subscribe().block();
    match pending.get() {
        Some(Ok(Ok(response))) => Ok(Output::new(response.status())),
        Some(Ok(Err(code))) => Err(ToolError::new("http_error", format!("{code:?}"))),
        Some(Err(())) | None => Err(ToolError::new("http_error", "no response")),
    }
}

llmagent_guest::export_tool!(Testbed);
