//! What the file tool tells the model about itself.

use llmagent_guest::{Action, Spec};
use serde_json::{Value, json};

use crate::format::ENCODINGS;

/// `list` answers at most this many entries unless asked for more: enough
/// to see a typical directory, small enough for a model's context. The host
/// caps any request at 10 000.
pub const DEFAULT_MAX_ENTRIES: u32 = 1000;

/// The schema of a path argument.
fn path() -> Value {
    json!({"type": "string"})
}

/// The description of a path argument naming `what` (a literal).
macro_rules! path_of {
    ($what:literal) => {
        concat!("Absolute path of the ", $what, ", starting with \"/\"")
    };
}

/// The tool's self-description.
pub fn spec() -> Spec {
    Spec::new(
        "file",
        "Reads, writes, deletes, lists and inspects files on this machine. Paths must be absolute. Only paths \
         the role's policy grants are reachable: read, list and stat need the policy's `read` list, write and \
         delete need its `write` list; anything else answers `denied` with the policy key that would allow it. \
         Symlinks and `..` are followed only while they stay inside a granted tree.",
        env!("CARGO_PKG_VERSION"),
    )
    .action(
        Action::new(
            "read",
            "Read a whole regular file. The output is its content as a string: the text itself when the file is \
             UTF-8 (metadata encoding \"utf8\"), else its standard base64 (metadata encoding \"base64\"). Metadata: \
             {path, size, encoding}. A file larger than max_bytes, or than the role's output limit, answers \
             `too_large` instead of a truncated read.",
        )
        .required("path", path, path_of!("file"))
        .optional(
            "max_bytes",
            || json!({"type": "integer", "minimum": 0}),
            "Refuse files larger than this many bytes (default: the role's output limit)",
        ),
    )
    .action(
        Action::new(
            "write",
            "Write content to a file, creating it if it does not exist (parent directories are not created). \
             Answers \"ok\" with metadata {path, bytes_written}. Symlinks to existing files are written through \
             only while they stay inside a granted tree.",
        )
        .required("path", path, path_of!("file"))
        .required(
            "content",
            || json!({"type": "string"}),
            "The text to write; with encoding \"base64\", the file's bytes in standard base64",
        )
        .optional(
            "encoding",
            || json!({"type": "string", "enum": ENCODINGS}),
            "How content is given: \"utf8\" (default) or \"base64\" (for binary files)",
        )
        .optional(
            "mode",
            || json!({"type": "string", "enum": ["truncate", "append", "create_new"]}),
            "\"truncate\" (default) replaces an existing file, \"append\" adds to its end, \"create_new\" fails \
             if the file already exists",
        ),
    )
    .action(
        Action::new(
            "delete",
            "Delete a file or a symlink (the link itself, not what it points to); directories are refused. \
             Answers \"ok\" with metadata {path}.",
        )
        .required("path", path, path_of!("file, directory or symlink")),
    )
    .action(
        Action::new(
            "list",
            "List a directory, sorted by name. The output is an array of {name, kind, size} where kind is \
             \"file\", \"directory\", \"symlink\" or \"other\" and size is in bytes (0 for directories; a symlink's \
             own size). Metadata: {path, count, truncated}; truncated is true when entries were left out.",
        )
        .required("path", path, path_of!("directory"))
        .optional(
            "max_entries",
            || json!({"type": "integer", "minimum": 0, "maximum": 10000}),
            format!("Answer at most this many entries (default {DEFAULT_MAX_ENTRIES}, at most 10000)"),
        ),
    )
    .action(
        Action::new(
            "stat",
            "Metadata of one path, without following a final symlink. The output is {path, kind, size, mode, \
             uid, gid, modified}: mode is the permission bits in octal (\"0644\"), modified the last \
             modification time in RFC 3339 UTC (\"2024-05-01T12:00:00Z\"). Metadata: {path}.",
        )
        .required("path", path, path_of!("file, directory or symlink")),
    )
}
