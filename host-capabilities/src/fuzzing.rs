//! The `fs` host functions reached by a path a tool chose, for the fuzz
//! targets in `fuzz/` (feature `fuzzing`). Not part of the API.

use crate::bindings::CapError;
use crate::bindings::fs::Host;
use crate::ctx::Capabilities;

/// A read-only `fs` operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsOp {
    /// `read`, up to 4 KiB.
    Read,
    /// `stat` (symlinks not followed).
    Stat,
    /// `list-dir`, up to 64 entries.
    List,
}

/// What an allowed operation answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsAnswer {
    /// The bytes read.
    Read(Vec<u8>),
    /// The size `stat` gave.
    Stat(u64),
    /// The names listed.
    List(Vec<String>),
}

/// One host call on `path`: `Err` is a trap (a host bug), `Ok(Err)` the
/// error the tool would get.
pub fn fs(
    caps: &mut Capabilities,
    op: FsOp,
    path: &str,
) -> Result<Result<FsAnswer, CapError>, String> {
    let path = path.to_owned();
    let answer = match op {
        FsOp::Read => caps.read(path, 4096).map(|r| r.map(FsAnswer::Read)),
        FsOp::Stat => caps.stat(path).map(|r| r.map(|s| FsAnswer::Stat(s.size))),
        FsOp::List => caps.list_dir(path, 64).map(|r| {
            r.map(|(entries, _)| FsAnswer::List(entries.into_iter().map(|e| e.name).collect()))
        }),
    };
    answer.map_err(|e| e.to_string())
}
