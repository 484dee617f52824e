//! The tools a runtime can call: built-ins and the policy's `[tools.NAME]`
//! components, each compiled (or loaded from the cache), checked against the
//! contract, pre-instantiated once, and described once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use host_capabilities::{Grants, NullSink, ToolWorldPre, WIT_PACKAGE, WIT_VERSION};
use llmagent_policy::Policy;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{Component, ComponentExportIndex, Linker};

use crate::builtin::BUILTINS;
use crate::cache::{CacheOutcome, ComponentCache, Source};
use crate::error::RuntimeError;
use crate::sandbox::{self, CallLimits, FiberPre, Linkers, State};

/// `describe` gets this long; it must not touch any capability.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(5);
/// …and this much memory.
const DESCRIBE_MEMORY: usize = 64 << 20;
/// `describe()`'s answer (names, descriptions, schemas) is at most this
/// large: it is sent to the model with every request.
const MAX_SPEC_BYTES: usize = 1 << 20;
/// …and declares at most this many actions.
const MAX_ACTIONS: usize = 256;
/// A tool component larger than this is refused: built-ins are ~0.2 MB and
/// even interpreters compiled to components stay well under it.
const MAX_COMPONENT_BYTES: u64 = 256 << 20;

/// Where a tool came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolOrigin {
    /// Embedded in the binary.
    Builtin,
    /// A `[tools.NAME]` file.
    File(PathBuf),
    /// A role's MCP server (`[roles.R.mcp.NAME]`): its command or URL.
    Mcp(String),
}

impl std::fmt::Display for ToolOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ToolOrigin::Builtin => write!(f, "built-in"),
            ToolOrigin::File(p) => write!(f, "{}", p.display()),
            ToolOrigin::Mcp(s) => write!(f, "mcp {s}"),
        }
    }
}

/// One action as the tool describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionInfo {
    /// Name.
    pub name: String,
    /// Description for the model.
    pub description: String,
    /// JSON Schema of the arguments.
    pub schema: Value,
}

/// A tool's self-description.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolInfo {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Version.
    pub version: String,
    /// Where it came from.
    pub origin: ToolOrigin,
    /// Its actions.
    pub actions: Vec<ActionInfo>,
}

impl ToolInfo {
    /// The action called `name`.
    pub fn action(&self, name: &str) -> Option<&ActionInfo> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// The action names, comma-separated.
    pub fn action_names(&self) -> String {
        self.actions
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A loaded tool.
pub(crate) struct LoadedTool {
    /// Shared with every agent's offer (`Runtime::tools_for`).
    pub(crate) info: Arc<ToolInfo>,
    pub(crate) pre: ToolWorldPre<State>,
    /// The same component for calls on an async runtime's worker.
    pub(crate) fibers: FiberPre,
    pub(crate) cache: CacheOutcome,
    pub(crate) load_time: Duration,
}

/// What [`load_all`] found: the tools that work, and the `[tools.NAME]`
/// components that do not, each with why.
pub(crate) struct Loaded {
    pub(crate) tools: BTreeMap<String, LoadedTool>,
    pub(crate) unavailable: BTreeMap<String, RuntimeError>,
}

/// Loads every built-in and every `[tools.NAME]` of `policy`. A built-in
/// that fails to load is an error (it is part of this binary); a policy's
/// component that fails — unreadable, mispinned, not a component, or
/// misbehaving in `describe()` — is set aside with its reason, so that one
/// broken third-party tool cannot take the others down. Components load
/// side by side, one per core (see [`in_parallel`]).
pub(crate) fn load_all(
    engine: &Engine,
    linkers: &Linkers,
    cache: &ComponentCache,
    policy: &Policy,
) -> Result<Loaded, RuntimeError> {
    let jobs: Vec<(&str, Option<&llmagent_policy::ToolSource>)> = BUILTINS
        .iter()
        .map(|b| (b.name, None))
        .chain(policy.tools.iter().map(|(n, s)| (n.as_str(), Some(s))))
        .collect();
    let results = in_parallel(&jobs, |&(name, source)| match source {
        None => {
            let source = BUILTINS
                .iter()
                .find(|b| b.name == name)
                .map_or(Source::Wasm(&[]), |b| b.source());
            load(engine, linkers, cache, name, ToolOrigin::Builtin, source)
        }
        Some(s) => load_file(engine, linkers, cache, name, &s.path, s.sha256),
    });
    let mut loaded = Loaded {
        tools: BTreeMap::new(),
        unavailable: BTreeMap::new(),
    };
    for ((name, source), result) in jobs.into_iter().zip(results) {
        let result = result.unwrap_or_else(|| {
            Err(RuntimeError::Tool {
                tool: name.to_owned(),
                source_desc: source.map_or_else(
                    || ToolOrigin::Builtin.to_string(),
                    |s| s.path.display().to_string(),
                ),
                message: "loading failed: the host panicked, or could not start a thread to load it (see the log; a panic is a bug in llmagent, please report it)"
                    .to_owned(),
            })
        });
        match (result, source) {
            (Ok(tool), _) => {
                loaded.tools.insert(name.to_owned(), tool);
            }
            (Err(e), None) => return Err(e),
            (Err(e), Some(_)) => {
                loaded.unavailable.insert(name.to_owned(), e);
            }
        }
    }
    Ok(loaded)
}

/// `work` of every item, in order, run on as many plain threads as the
/// machine has cores (at most one per item); `None` where `work` panicked
/// (which costs that item only) or no thread could be started. Plain threads, outside any async runtime,
/// are what `describe()` needs: WASI's blocking operations enter a Tokio
/// runtime of their own, which panics on a thread already inside one (the
/// caller of [`load_all`] may well be `async`).
fn in_parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<Option<R>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len());
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<R>> = items.iter().map(|_| None).collect();
    let done: Vec<(usize, R)> = std::thread::scope(|scope| {
        // A thread that cannot be started leaves its share to the others;
        // when none can, every item stays `None`.
        let workers: Vec<_> = (0..threads)
            .filter_map(|_| {
                let worker = std::thread::Builder::new().name("load tools".into());
                let spawned = worker.spawn_scoped(scope, || {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break out };
                        let run = std::panic::AssertUnwindSafe(|| work(item));
                        if let Ok(r) = std::panic::catch_unwind(run) {
                            out.push((i, r));
                        }
                    }
                });
                spawned.ok()
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    for (i, r) in done {
        results[i] = Some(r);
    }
    results
}

/// Loads one `[tools.NAME]` file, checking its size and its pin first.
fn load_file(
    engine: &Engine,
    linkers: &Linkers,
    cache: &ComponentCache,
    name: &str,
    path: &Path,
    pin: Option<[u8; 32]>,
) -> Result<LoadedTool, RuntimeError> {
    let fail = |message: String| RuntimeError::Tool {
        tool: name.to_owned(),
        source_desc: path.display().to_string(),
        message,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| {
            fail(format!(
                "cannot read the component: {e}; check [tools.{name}].path"
            ))
        })?
        .len();
    if size > MAX_COMPONENT_BYTES {
        return Err(fail(format!(
            "the file is {size} bytes; components over {MAX_COMPONENT_BYTES} bytes are refused"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        fail(format!(
            "cannot read the component: {e}; check [tools.{name}].path"
        ))
    })?;
    if let Some(pin) = pin {
        let actual: [u8; 32] = Sha256::digest(&bytes).into();
        if actual != pin {
            return Err(RuntimeError::HashMismatch {
                tool: name.to_owned(),
                path: path.to_path_buf(),
                expected: hex::encode(pin),
                actual: hex::encode(actual),
            });
        }
    }
    load(
        engine,
        linkers,
        cache,
        name,
        ToolOrigin::File(path.to_path_buf()),
        Source::Wasm(&bytes),
    )
}

fn load(
    engine: &Engine,
    linkers: &Linkers,
    cache: &ComponentCache,
    name: &str,
    origin: ToolOrigin,
    source: Source<'_>,
) -> Result<LoadedTool, RuntimeError> {
    let started = Instant::now();
    let fail = |message: String| RuntimeError::Tool {
        tool: name.to_owned(),
        source_desc: origin.to_string(),
        message,
    };
    let (component, cache_outcome) = cache
        .load(engine, name, source)
        .map_err(|e| fail(format!("not a valid WebAssembly component: {e:#}")))?;
    check_contract(engine, &component).map_err(fail)?;
    let linked = |linker: &Linker<State>| {
        linker
            .instantiate_pre(&component)
            .map_err(|e| fail(format!("cannot be linked: {e:#}")))
    };
    let pre = ToolWorldPre::new(linked(&linkers.blocking)?)
        .map_err(|e| fail(format!("does not export the tool interface: {e:#}")))?;
    let fibers = FiberPre {
        pre: linked(&linkers.fibers)?,
        invoke: invoke_export(&component)
            .ok_or_else(|| fail("does not export the tool interface's `invoke`".to_owned()))?,
    };
    let limits = CallLimits {
        timeout: DESCRIBE_TIMEOUT,
        memory_bytes: DESCRIBE_MEMORY,
        max_output_bytes: usize::MAX,
    };
    // On a worker of `load_all`, outside any async runtime (see `in_parallel`).
    let described = sandbox::describe(
        engine,
        &pre,
        Arc::new(Grants::none("describe")),
        Arc::new(NullSink),
        limits,
    );
    let spec = described.map_err(|e| fail(format!("describe() failed: {}", e.message)))?;
    let info = validate_spec(name, origin.clone(), spec).map_err(fail)?;
    Ok(LoadedTool {
        info: Arc::new(info),
        pre,
        fibers,
        cache: cache_outcome,
        load_time: started.elapsed(),
    })
}

/// Where a component's `invoke` is: in the tool interface it exports, at
/// whichever compatible version it was built against.
fn invoke_export(component: &Component) -> Option<ComponentExportIndex> {
    let prefix = format!("{WIT_PACKAGE}/tool@");
    let engine = component.engine();
    let ty = component.component_type();
    let name = ty
        .exports(engine)
        .map(|(n, _)| n)
        .find(|n| n.starts_with(&prefix))?;
    let tool = component.get_export_index(None, name)?;
    component.get_export_index(Some(&tool), "invoke")
}

/// Refuses a component built against another version of `wit/`, with a
/// message naming both versions, before linking fails less clearly.
fn check_contract(engine: &Engine, component: &Component) -> Result<(), String> {
    let ty = component.component_type();
    let prefix = format!("{WIT_PACKAGE}/");
    let mut names: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_owned()).collect();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
    names.extend(exports.iter().cloned());
    for name in &names {
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let version = rest.split_once('@').map(|(_, v)| v).unwrap_or("");
        if !compatible(version, WIT_VERSION) {
            return Err(format!(
                "it was built against {WIT_PACKAGE}@{version} but this llmagent implements {WIT_PACKAGE}@{WIT_VERSION}; \
                 rebuild the tool against this version of wit/"
            ));
        }
    }
    if !exports
        .iter()
        .any(|e| e.starts_with(&format!("{prefix}tool@")))
    {
        return Err(format!(
            "it does not export {WIT_PACKAGE}/tool; build it for the `tool-world` world of wit/"
        ));
    }
    Ok(())
}

/// Semver compatibility as the component model applies it: same major, and
/// while the major is 0, same minor.
fn compatible(found: &str, ours: &str) -> bool {
    let parse = |v: &str| -> Option<(u64, u64)> {
        let mut it = v.split('.');
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    };
    match (parse(found), parse(ours)) {
        (Some((fa, fb)), Some((oa, ob))) => fa == oa && (oa != 0 || fb == ob),
        _ => false,
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn validate_spec(
    name: &str,
    origin: ToolOrigin,
    spec: host_capabilities::ToolSpec,
) -> Result<ToolInfo, String> {
    let size = spec.name.len()
        + spec.description.len()
        + spec.version.len()
        + spec
            .actions
            .iter()
            .map(|a| a.name.len() + a.description.len() + a.args_schema.len())
            .sum::<usize>();
    if size > MAX_SPEC_BYTES {
        return Err(format!(
            "describe() answered {size} bytes; a tool's description and schemas may take at most {MAX_SPEC_BYTES}"
        ));
    }
    if spec.actions.len() > MAX_ACTIONS {
        return Err(format!(
            "describe() declares {} actions; a tool may have at most {MAX_ACTIONS}",
            spec.actions.len()
        ));
    }
    if spec.name != name {
        let called: String = spec.name.chars().take(64).collect();
        return Err(format!(
            "it calls itself `{called}` but is configured as `{name}`; use [tools.{called}] or rename it"
        ));
    }
    let mut actions = Vec::with_capacity(spec.actions.len());
    for a in spec.actions {
        if !valid_name(&a.name) {
            let shown: String = a.name.chars().take(64).collect();
            return Err(format!(
                "action name `{shown}` is not of the form [a-z0-9_]+ (at most 64 characters)"
            ));
        }
        if actions.iter().any(|x: &ActionInfo| x.name == a.name) {
            return Err(format!("action `{}` is declared twice", a.name));
        }
        let schema: Value = serde_json::from_str(&a.args_schema)
            .map_err(|e| format!("the argument schema of `{}` is not JSON: {e}", a.name))?;
        if !schema.is_object() {
            return Err(format!(
                "the argument schema of `{}` is not a JSON object",
                a.name
            ));
        }
        actions.push(ActionInfo {
            name: a.name,
            description: a.description,
            schema,
        });
    }
    Ok(ToolInfo {
        name: spec.name,
        description: spec.description,
        version: spec.version,
        origin,
        actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_versions() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.3", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("2.0.0", "1.0.0"));
        assert!(!compatible("", "0.1.0"));
    }

    /// Every item's result comes back in its place, whichever thread ran
    /// it; a panic costs only its own item.
    #[test]
    fn in_parallel_keeps_order_and_a_panic_costs_one_item() {
        let items: Vec<u32> = (0..40).collect();
        let results = in_parallel(&items, |&i| {
            assert_ne!(i, 7, "item 7 panics");
            i * 2
        });
        let expected: Vec<Option<u32>> = (0..40).map(|i| (i != 7).then_some(i * 2)).collect();
        assert_eq!(results, expected);
    }

    #[test]
    fn tool_names() {
        assert!(valid_name("sha256"));
        assert!(valid_name("generate_keypair"));
        assert!(!valid_name("Sha"));
        assert!(!valid_name("a-b"));
        assert!(!valid_name(""));
    }
}
