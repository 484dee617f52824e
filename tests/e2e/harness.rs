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
        }
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
        self.runtime
            .call_blocking(&CallRequest::new(role, tool, action, &args.to_string()))
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
        fn decision(&self, d: &host_capabilities::Decision<'_>) {
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
        }
    }
}
