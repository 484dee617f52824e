//! Shared set-up: a policy in a temporary directory, a runtime over it, and
//! calls that return whole values to assert on.

use std::path::PathBuf;
use std::sync::Arc;

use llmagent_core::{CallOutcome, CallRequest, Runtime, RuntimeOptions, builtin_names};
use llmagent_events::{Event, EventStore, Events, Query, StoreConfig};
use llmagent_policy::Policy;
use serde_json::Value;
use tempfile::TempDir;

pub use llmagent_tests::components::testbed_path;

/// A runtime over `policy_toml` (written to `dir/policy.toml`); the text may
/// use `{dir}` for the temporary directory and `{testbed}` for the testbed.
pub struct Env {
    /// The temporary directory (deleted on drop).
    pub dir: TempDir,
    /// The runtime.
    pub runtime: Runtime,
    /// The event store the runtime records into (`{dir}/events`).
    pub store: EventStore,
    /// How calls are made.
    pub via: Via,
}

/// The two ways the runtime runs a call.
pub enum Via {
    /// `Runtime::call_blocking` on the test's thread.
    Blocking,
    /// `Runtime::call` in a task on the worker of a one-worker tokio
    /// runtime: the call runs on a fiber of that task.
    Fibers(tokio::runtime::Runtime),
}

impl std::fmt::Debug for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Via::Blocking => "blocking",
            Via::Fibers(_) => "fibers",
        })
    }
}

/// Runs `work` as a task on `tokio` (made by [`one_worker`]) beside a task
/// that counts 10 ms sleeps until `work` is over; returns what `work`
/// returned and that count. Work that held the worker would leave the
/// count near zero.
pub fn beside_a_ticker<T: Send + 'static>(
    tokio: &tokio::runtime::Runtime,
    work: impl Future<Output = T> + Send + 'static,
) -> (T, u32) {
    use std::sync::atomic::{AtomicBool, Ordering};
    tokio.block_on(async move {
        let done = Arc::new(AtomicBool::new(false));
        let ticker = tokio::spawn({
            let done = Arc::clone(&done);
            async move {
                let mut ticks = 0u32;
                while !done.load(Ordering::SeqCst) {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    ticks += 1;
                }
                ticks
            }
        });
        let work = tokio::spawn(async move {
            let out = work.await;
            done.store(true, Ordering::SeqCst);
            out
        });
        let out = work.await.expect("the work's task");
        (out, ticker.await.expect("the ticker's task"))
    })
}

/// A multi-threaded tokio runtime with one worker: a call that held its
/// worker would hold up every other task.
pub fn one_worker() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

impl Env {
    pub fn new(policy_toml: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let dir_path = dir.path().canonicalize().expect("canonical tempdir");
        let text = policy_toml
            .replace("{dir}", &dir_path.display().to_string())
            .replace("{testbed}", &testbed_path().display().to_string());
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, text).expect("write policy");
        let policy = Policy::load(&path, &builtin_names()).expect("valid policy");
        let store =
            EventStore::open(StoreConfig::new(dir.path().join("events"))).expect("event store");
        let options = RuntimeOptions {
            cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("component-cache")),
            sink: Arc::new(host_sink::Recorder::default()),
            events: Some(Events::new(store.clone())),
            ..RuntimeOptions::default()
        };
        let runtime = Runtime::new(policy, options).expect("runtime");
        Self {
            dir,
            runtime,
            store,
            via: Via::Blocking,
        }
    }

    /// [`Env::new`] with calls made on fibers ([`Via::Fibers`]).
    pub fn on_fibers(policy_toml: &str) -> Self {
        Self {
            via: Via::Fibers(one_worker()),
            ..Self::new(policy_toml)
        }
    }

    /// The same policy for each way of calling.
    pub fn both(policy_toml: &str) -> [Self; 2] {
        [Self::new(policy_toml), Self::on_fibers(policy_toml)]
    }

    /// Every recorded event, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.store.query(&Query::default()).expect("query events")
    }

    /// The canonical path of the temporary directory.
    pub fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().expect("canonical tempdir")
    }

    /// Calls `tool.action` under `role` with `args`.
    pub fn call(&self, role: &str, tool: &str, action: &str, args: Value) -> CallOutcome {
        let request = CallRequest::new(role, tool, action, &args.to_string());
        match &self.via {
            Via::Blocking => self.runtime.call_blocking(&request),
            Via::Fibers(tokio) => {
                let runtime = self.runtime.clone();
                tokio
                    .block_on(async move {
                        tokio::spawn(async move { runtime.call(request).await }).await
                    })
                    .expect("the call's task")
            }
        }
        .expect("call reaches the runtime")
    }

    /// The call's output and metadata, or a panic showing the failure.
    pub fn ok(&self, role: &str, tool: &str, action: &str, args: Value) -> (Value, Value) {
        match self.call(role, tool, action, args).result {
            Ok(s) => (s.output, s.metadata),
            Err(e) => panic!("{tool}.{action} failed: {e:?}"),
        }
    }

    /// The call's failure as `(reason, field)` plus the whole failure.
    pub fn err(
        &self,
        role: &str,
        tool: &str,
        action: &str,
        args: Value,
    ) -> llmagent_core::ToolFailure {
        match self.call(role, tool, action, args).result {
            Ok(s) => panic!("{tool}.{action} unexpectedly succeeded: {s:?}"),
            Err(e) => e,
        }
    }
}

/// A decision sink that keeps what it is told.
pub mod host_sink {
    use std::sync::Mutex;

    /// Records decisions as `(capability, operation, target, allowed)`.
    #[derive(Default)]
    pub struct Recorder {
        pub seen: Mutex<Vec<(String, String, String, bool)>>,
    }

    impl host_capabilities::Sink for Recorder {
        fn decision(
            &self,
            d: &host_capabilities::Decision<'_>,
        ) -> Result<(), host_capabilities::Unrecorded> {
            let (host_capabilities::Subject::Capability(name)
            | host_capabilities::Subject::Tool(name)) = d.subject;
            if let Ok(mut seen) = self.seen.lock() {
                seen.push((
                    name.into(),
                    d.operation.into(),
                    d.target.into(),
                    d.ruling.verdict() == host_capabilities::Verdict::Allow,
                ));
            }
            Ok(())
        }
    }
}
