//! The five actions: arguments in, one `fs` capability call, JSON out.

use llmagent_guest::bindings::llmagent::tools::types::CapError;
use llmagent_guest::fs::{self, WriteMode};
use llmagent_guest::{Args, Output, ToolError};
use serde_json::json;

use crate::format::{ENCODINGS, decode_content, encode_content, kind_name, mode_octal, rfc3339};
use crate::spec::DEFAULT_MAX_ENTRIES;

/// `read {path, max_bytes?}`.
pub fn read(args: &Args) -> Result<Output, ToolError> {
    let path = args.str("path")?;
    // Without max_bytes only the role's output limit applies (the host
    // takes the smaller of the two).
    let max_bytes = args.opt_u64("max_bytes")?.unwrap_or(u64::MAX);
    let bytes = fs::read(path, max_bytes).map_err(|e| file_error("read", path, e))?;
    let size = bytes.len();
    let (content, encoding) = encode_content(bytes);
    Ok(Output::new(content)
        .meta("path", path)
        .meta("size", size)
        .meta("encoding", encoding))
}

/// `write {path, content, encoding?, mode?}`.
pub fn write(args: &Args) -> Result<Output, ToolError> {
    let path = args.str("path")?;
    let content = args.str("content")?;
    let encoding = args.opt_choice("encoding", ENCODINGS)?.unwrap_or("utf8");
    let mode = match args.opt_choice("mode", &["truncate", "append", "create_new"])? {
        Some("append") => WriteMode::Append,
        Some("create_new") => WriteMode::CreateNew,
        _ => WriteMode::Truncate,
    };
    let bytes = decode_content(content, encoding)?;
    let written = fs::write(path, &bytes, mode).map_err(|e| file_error("write", path, e))?;
    Ok(Output::new("ok")
        .meta("path", path)
        .meta("bytes_written", written))
}

/// `delete {path}`.
pub fn delete(args: &Args) -> Result<Output, ToolError> {
    let path = args.str("path")?;
    fs::delete(path).map_err(|e| file_error("delete", path, e))?;
    Ok(Output::new("ok").meta("path", path))
}

/// `list {path, max_entries?}`.
pub fn list(args: &Args) -> Result<Output, ToolError> {
    let path = args.str("path")?;
    let max_entries = match args.opt_u64("max_entries")? {
        Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
        None => DEFAULT_MAX_ENTRIES,
    };
    let (entries, truncated) =
        fs::list_dir(path, max_entries).map_err(|e| file_error("list", path, e))?;
    let count = entries.len();
    let output: Vec<_> = entries
        .into_iter()
        .map(|e| json!({"name": e.name, "kind": kind_name(e.kind), "size": e.size}))
        .collect();
    Ok(Output::new(output)
        .meta("path", path)
        .meta("count", count)
        .meta("truncated", truncated))
}

/// `stat {path}`.
pub fn stat(args: &Args) -> Result<Output, ToolError> {
    let path = args.str("path")?;
    let st = fs::stat(path).map_err(|e| file_error("stat", path, e))?;
    Ok(Output::new(json!({
        "path": path,
        "kind": kind_name(st.kind),
        "size": st.size,
        "mode": mode_octal(st.mode),
        "uid": st.uid,
        "gid": st.gid,
        "modified": rfc3339(st.modified_secs),
    }))
    .meta("path", path))
}

/// A capability error as the model sees it: a missing file or an OS
/// refusal is the predecessor's `file_error` ("Cannot read <path>: …");
/// a denial, a size limit or a bad path keep their own codes.
pub fn file_error(verb: &str, path: &str, err: CapError) -> ToolError {
    match err {
        CapError::NotFound(detail) => {
            ToolError::new("file_error", format!("Cannot {verb} {path}: {detail}"))
                .field("path")
                .suggestion("check the path; list its directory to see what is there")
        }
        CapError::Io(detail) => {
            ToolError::new("file_error", format!("Cannot {verb} {path}: {detail}")).field("path")
        }
        other => ToolError::from_cap(other, "path", "file_error"),
    }
}

#[cfg(test)]
mod tests {
    use llmagent_guest::bindings::llmagent::tools::types::Denial;

    use super::*;

    #[test]
    fn capability_errors_map_to_tool_errors() {
        assert_eq!(
            file_error(
                "read",
                "/x",
                CapError::NotFound("open \"/x\": no such file or directory".into())
            ),
            ToolError::new(
                "file_error",
                "Cannot read /x: open \"/x\": no such file or directory"
            )
            .field("path")
            .suggestion("check the path; list its directory to see what is there")
        );
        assert_eq!(
            file_error(
                "write",
                "/x",
                CapError::Io("write \"/x\": it is a directory".into())
            ),
            ToolError::new(
                "file_error",
                "Cannot write /x: write \"/x\": it is a directory"
            )
            .field("path")
        );
        let denial = Denial {
            capability: "fs".into(),
            target: "/etc/shadow".into(),
            hint: "add it".into(),
        };
        assert_eq!(
            file_error("read", "/etc/shadow", CapError::Denied(denial)),
            ToolError::new("denied", "fs denied access to /etc/shadow")
                .field("path")
                .suggestion("add it")
        );
        assert_eq!(
            file_error("read", "/big", CapError::TooLarge("too big".into())),
            ToolError::new("too_large", "too big").field("path")
        );
    }
}
