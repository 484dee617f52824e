//! The `inotify` tool: `watch {path, events?, recursive?}`, `poll
//! {watch_id, max?}`, `stop {watch_id}` and `list {}` through the
//! `inotify` host capability (the kernel's inotify, no `inotifywait`), as
//! the role's `[roles.R.inotify]` section allows.
//!
//! Kept from the predecessor (reference §1.10): the actions and argument
//! keys; `watch` answers the integer `watch_id` with metadata `{path,
//! status: "watching"}`; `poll` drains the buffered events oldest first as
//! `{event, path, timestamp}` (event names as `inotifywait` prints them,
//! e.g. `CLOSE_WRITE,CLOSE`) with metadata `{watch_id, count}`; `stop`
//! answers what was left with metadata `{watch_id, status: "stopped"}`;
//! `list` answers `{watch_id, path}` lines with metadata `{count}`; an
//! unknown id is `not_found` on field `watch_id` ("No active watch with
//! id N"), a missing path `not_found` on `path`.
//!
//! Improved: watches belong to the agent and outlive the call, so a later
//! call can poll them; `events` filters (`create`, `modify`, `delete`,
//! `move`, `close_write` …) and `recursive` works; buffers are bounded and
//! `poll`'s metadata says `overflowed` when events were dropped; `list`
//! adds `pending`; a path outside the role's grant is `denied` naming the
//! key.

#![deny(missing_docs)]

mod spec;

use llmagent_guest::inotify::{self, FsEvent};
use llmagent_guest::{Args, Output, Spec, Tool, ToolError};
use serde_json::{Value, json};

/// The inotify tool.
pub struct InotifyTool;

fn events(list: &[FsEvent]) -> Value {
    list.iter()
        .map(|e| json!({"event": e.event, "path": e.path, "timestamp": e.timestamp}))
        .collect()
}

fn error(e: llmagent_guest::bindings::llmagent::tools::types::CapError, field: &str) -> ToolError {
    ToolError::from_cap(e, field, "io_error")
}

impl Tool for InotifyTool {
    fn spec() -> Spec {
        spec::spec()
    }

    fn invoke(action: &str, args: Args) -> Result<Output, ToolError> {
        match action {
            "watch" => {
                let path = args.str("path")?;
                let filter: Vec<String> = match args.value("events") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|v| {
                            v.as_str().map(str::to_owned).ok_or_else(|| {
                                ToolError::invalid_args("events", "events is a list of event names")
                            })
                        })
                        .collect::<Result<_, _>>()?,
                    Some(Value::String(one)) => vec![one.clone()],
                    Some(_) => {
                        return Err(ToolError::invalid_args(
                            "events",
                            "events is a list of event names",
                        ));
                    }
                };
                let recursive = args.opt_bool("recursive")?.unwrap_or(false);
                let id = inotify::watch(path, &filter, recursive).map_err(|e| {
                    let field = match e {
                        llmagent_guest::bindings::llmagent::tools::types::CapError::InvalidArgument(ref m)
                            if m.contains("inotify event") => "events",
                        _ => "path",
                    };
                    error(e, field)
                })?;
                Ok(Output::new(id)
                    .meta("path", path)
                    .meta("status", "watching")
                    .meta("recursive", recursive))
            }
            "poll" => {
                let id = args.u64_lenient("watch_id")?;
                let max = args.opt_u64("max")?.unwrap_or(0);
                let max = u32::try_from(max).unwrap_or(u32::MAX);
                let (list, overflowed) =
                    inotify::poll(id, max).map_err(|e| error(e, "watch_id"))?;
                Ok(Output::new(events(&list))
                    .meta("watch_id", id)
                    .meta("count", list.len())
                    .meta("overflowed", overflowed))
            }
            "stop" => {
                let id = args.u64_lenient("watch_id")?;
                let list = inotify::stop(id).map_err(|e| error(e, "watch_id"))?;
                Ok(Output::new(events(&list))
                    .meta("watch_id", id)
                    .meta("status", "stopped")
                    .meta("count", list.len()))
            }
            "list" => {
                let list = inotify::list_watches().map_err(|e| error(e, "action"))?;
                let lines: Vec<Value> = list
                    .iter()
                    .map(|w| json!({"watch_id": w.watch_id, "path": w.path, "pending": w.pending}))
                    .collect();
                let count = lines.len();
                Ok(Output::new(Value::Array(lines)).meta("count", count))
            }
            other => Err(ToolError::unknown_action_of(&spec::spec(), other)),
        }
    }
}

llmagent_guest::export_tool!(InotifyTool);
