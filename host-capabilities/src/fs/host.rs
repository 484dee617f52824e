//! The `fs` host functions: resolve beneath a grant, decide on the real
//! path, report the decision, then work on the opened descriptor.

use std::collections::BinaryHeap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{
    AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags, Stat, fstat, statat, unlinkat,
};
use rustix::io::Errno;

use super::policy::{Access, FsPolicy};
use super::resolve::{
    OpenError, Opened, Request, denied, lexical, open_beneath, openat2_retry, os_error, reopen,
};
use crate::bindings::CapError;
use crate::bindings::fs::{DirEntry, FileKind, FileStat, Host, WriteMode};
use crate::ctx::Capabilities;
use crate::decision::{Decision, Ruling};
use crate::sink::{Sink, enforce, report_refusal};

/// Hard cap on one listing whatever the tool asks: each entry costs a
/// `statat` and ~100 bytes of JSON, so 10 000 entries stay around 1 MiB, the
/// default output cap, and keep the call quick on huge directories.
const MAX_LIST_ENTRIES: u32 = 10_000;

/// Mode of a file `write` creates, before the process umask (as `open(2)`
/// and `std::fs::File::create` do).
const CREATE_MODE: u32 = 0o666;

/// One host call: the policy, where to report, and what is being done.
struct Call<'a> {
    policy: &'a FsPolicy,
    sink: &'a dyn Sink,
    op: &'static str,
    access: Access,
    max_output_bytes: u64,
}

impl<'a> Call<'a> {
    fn new(caps: &'a Capabilities, op: &'static str, access: Access) -> Self {
        Self {
            policy: &caps.grants.fs,
            sink: caps.sink.as_ref(),
            op,
            access,
            max_output_bytes: caps.grants.max_output_bytes,
        }
    }

    /// Decides on a real path and reports the decision when it allows (a
    /// denial is reported once, by [`Call::finish`]).
    fn decide(&self, target: &Path) -> Result<(), CapError> {
        match self.policy.decide(self.access, target) {
            allow @ Ruling::Allow { .. } => {
                let target = target.display().to_string();
                enforce(
                    self.sink,
                    &Decision::capability("fs", self.op, &target, &allow),
                )
            }
            refusal => Err(denied(target, refusal.reason().to_owned())),
        }
    }

    /// Reports a denial, whichever step produced it.
    fn finish<T>(&self, result: Result<T, CapError>) -> wasmtime::Result<Result<T, CapError>> {
        if let Err(CapError::Denied(d)) = &result {
            let refusal = Ruling::deny(d.hint.clone());
            report_refusal(
                self.sink,
                &Decision::capability("fs", self.op, &d.target, &refusal),
            );
        }
        Ok(result)
    }

    /// The denial of a path no grant's base contains.
    fn outside(&self, target: &Path) -> CapError {
        denied(target, self.policy.hint(self.access, target))
    }

    /// Opens `comps` beneath a grant. A missing path is `not-found` only
    /// if the policy would allow it, so a tool cannot probe outside.
    fn open(
        &self,
        raw: &str,
        comps: &[&str],
        flags: OFlags,
        lexical: &Path,
    ) -> Result<Opened, CapError> {
        match open_beneath(self.policy, self.access, raw, comps, flags) {
            Ok(opened) => Ok(opened),
            Err(OpenError::Cap(e)) => Err(e),
            Err(OpenError::NotFound(message)) => {
                self.decide(lexical)?;
                Err(CapError::NotFound(message))
            }
            Err(OpenError::Outside) => Err(self.outside(lexical)),
        }
    }

    fn read(&self, raw: &str, max_bytes: u64) -> Result<Vec<u8>, CapError> {
        let req = Request::parse(raw)?;
        let o = self.open(
            raw,
            &req.comps,
            OFlags::PATH | OFlags::CLOEXEC,
            &req.lexical(),
        )?;
        self.decide(&o.real)?;
        let st = fstat(&o.fd).map_err(|e| os_error("stat", raw, e))?;
        let kind = kind_of(&st);
        if kind != FileKind::File {
            return Err(CapError::Io(format!(
                "read \"{raw}\": it is a {}, not a regular file; read takes regular files only",
                kind_name(kind)
            )));
        }
        let limit = max_bytes.min(self.max_output_bytes);
        let size = u64::try_from(st.st_size).unwrap_or(0);
        let too_large = |size: String| {
            CapError::TooLarge(format!(
                "\"{raw}\" is {size} bytes, over the limit of {limit} bytes (the smaller of max-bytes {max_bytes} \
                 and the role's max_output_bytes {})",
                self.max_output_bytes
            ))
        };
        if size > limit {
            return Err(too_large(size.to_string()));
        }
        let file = File::from(reopen(&o.fd, OFlags::RDONLY, raw, "read")?);
        let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.take(limit.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| CapError::Io(format!("read \"{raw}\": {e}")))?;
        if u64::try_from(buf.len()).unwrap_or(u64::MAX) > limit {
            return Err(too_large(format!("more than {limit}")));
        }
        Ok(buf)
    }

    fn write(&self, raw: &str, contents: &[u8], mode: WriteMode) -> Result<u64, CapError> {
        let req = Request::parse(raw)?;
        let (parent, name) = req.split_name()?;
        let fd = match mode {
            WriteMode::CreateNew => {
                self.create(raw, parent, name, "already exists (mode create-new)")?
            }
            WriteMode::Truncate | WriteMode::Append => {
                match open_beneath(
                    self.policy,
                    self.access,
                    raw,
                    &req.comps,
                    OFlags::PATH | OFlags::CLOEXEC,
                ) {
                    Ok(o) => {
                        self.decide(&o.real)?;
                        let st = fstat(&o.fd).map_err(|e| os_error("stat", raw, e))?;
                        if kind_of(&st) != FileKind::File {
                            return Err(CapError::Io(format!(
                                "write \"{raw}\": it is a {}, not a regular file",
                                kind_name(kind_of(&st))
                            )));
                        }
                        let extra = if mode == WriteMode::Append {
                            OFlags::APPEND
                        } else {
                            OFlags::TRUNC
                        };
                        reopen(&o.fd, OFlags::WRONLY | extra, raw, "write")?
                    }
                    Err(OpenError::NotFound(_)) => self.create(
                        raw,
                        parent,
                        name,
                        "appeared while it was being created, or is a dangling symlink \
                         (write does not create files through symlinks)",
                    )?,
                    Err(OpenError::Outside) => return Err(self.outside(&req.lexical())),
                    Err(OpenError::Cap(e)) => return Err(e),
                }
            }
        };
        File::from(fd)
            .write_all(contents)
            .map_err(|e| CapError::Io(format!("write \"{raw}\": {e}")))?;
        Ok(u64::try_from(contents.len()).unwrap_or(u64::MAX))
    }

    /// Creates `name` in the directory `parent` (never through a symlink),
    /// after deciding on its real location.
    fn create(
        &self,
        raw: &str,
        parent: &[&str],
        name: &str,
        exists: &str,
    ) -> Result<std::os::fd::OwnedFd, CapError> {
        let (dir, target) = self.parent(raw, parent, name)?;
        self.decide(&target)?;
        let flags = OFlags::WRONLY
            | OFlags::CREATE
            | OFlags::EXCL
            | OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NOCTTY;
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        openat2_retry(&dir, name, flags, Mode::from_raw_mode(CREATE_MODE), resolve).map_err(|e| {
            match e {
                Errno::EXIST => CapError::Io(format!("create \"{raw}\": it {exists}")),
                other => os_error("create", raw, other),
            }
        })
    }

    /// Opens the directory holding `name`, answering it and the real path
    /// `name` would have there.
    fn parent(
        &self,
        raw: &str,
        parent: &[&str],
        name: &str,
    ) -> Result<(std::os::fd::OwnedFd, std::path::PathBuf), CapError> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        match open_beneath(self.policy, self.access, raw, parent, flags) {
            Ok(o) => Ok((o.fd, o.real.join(name))),
            Err(OpenError::Cap(e)) => Err(e),
            Err(OpenError::Outside) => Err(self.outside(&lexical(parent).join(name))),
            Err(OpenError::NotFound(_)) => {
                self.decide(&lexical(parent).join(name))?;
                Err(CapError::NotFound(format!(
                    "the directory of \"{raw}\" does not exist (write does not create directories)"
                )))
            }
        }
    }

    fn delete(&self, raw: &str) -> Result<(), CapError> {
        let req = Request::parse(raw)?;
        let (parent, name) = req.split_name()?;
        let (dir, target) = self.parent(raw, parent, name)?;
        self.decide(&target)?;
        unlinkat(&dir, name, AtFlags::empty()).map_err(|e| match e {
            Errno::ISDIR => CapError::Io(format!(
                "delete \"{raw}\": it is a directory; delete removes files and symlinks only"
            )),
            other => os_error("delete", raw, other),
        })
    }

    fn list_dir(&self, raw: &str, max_entries: u32) -> Result<(Vec<DirEntry>, bool), CapError> {
        let req = Request::parse(raw)?;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOCTTY;
        let o = self.open(raw, &req.comps, flags, &req.lexical())?;
        self.decide(&o.real)?;
        let cap = usize::try_from(max_entries.min(MAX_LIST_ENTRIES)).unwrap_or(0);
        let mut dir = Dir::new(o.fd).map_err(|e| os_error("list", raw, e))?;
        // Keep the `cap` smallest names: memory stays bounded by the cap,
        // however large the directory.
        let mut kept: BinaryHeap<Vec<u8>> = BinaryHeap::new();
        let mut total: usize = 0;
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(|e| os_error("list", raw, e))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            total += 1;
            kept.push(name.to_vec());
            if kept.len() > cap {
                kept.pop();
            }
        }
        let dirfd = dir.fd().map_err(|e| os_error("list", raw, e))?;
        let entries = kept
            .into_sorted_vec()
            .into_iter()
            .filter_map(|name| {
                let (kind, size) =
                    match statat(dirfd, OsStr::from_bytes(&name), AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(st) => (kind_of(&st), size_of(&st)),
                        Err(Errno::NOENT) => return None, // removed while listing
                        Err(_) => (FileKind::Other, 0),
                    };
                Some(DirEntry {
                    name: String::from_utf8_lossy(&name).into_owned(),
                    kind,
                    size,
                })
            })
            .collect::<Vec<_>>();
        Ok((entries, total > cap))
    }

    fn stat(&self, raw: &str) -> Result<FileStat, CapError> {
        let req = Request::parse(raw)?;
        let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let o = self.open(raw, &req.comps, flags, &req.lexical())?;
        self.decide(&o.real)?;
        let st = fstat(&o.fd).map_err(|e| os_error("stat", raw, e))?;
        Ok(FileStat {
            kind: kind_of(&st),
            size: size_of(&st),
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            modified_secs: st.st_mtime,
        })
    }
}

fn kind_of(st: &Stat) -> FileKind {
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => FileKind::File,
        FileType::Directory => FileKind::Directory,
        FileType::Symlink => FileKind::Symlink,
        _ => FileKind::Other,
    }
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::File => "regular file",
        FileKind::Directory => "directory (use list-dir)",
        FileKind::Symlink => "symlink",
        FileKind::Other => "special file (device, FIFO or socket)",
    }
}

/// Size in bytes; 0 for directories, whose `st_size` means nothing portable.
fn size_of(st: &Stat) -> u64 {
    if kind_of(st) == FileKind::Directory {
        0
    } else {
        u64::try_from(st.st_size).unwrap_or(0)
    }
}

impl Host for Capabilities {
    fn read(
        &mut self,
        path: String,
        max_bytes: u64,
    ) -> wasmtime::Result<Result<Vec<u8>, CapError>> {
        let call = Call::new(self, "read", Access::Read);
        call.finish(call.read(&path, max_bytes))
    }

    fn write(
        &mut self,
        path: String,
        contents: Vec<u8>,
        mode: WriteMode,
    ) -> wasmtime::Result<Result<u64, CapError>> {
        let call = Call::new(self, "write", Access::Write);
        call.finish(call.write(&path, &contents, mode))
    }

    fn delete(&mut self, path: String) -> wasmtime::Result<Result<(), CapError>> {
        let call = Call::new(self, "delete", Access::Write);
        call.finish(call.delete(&path))
    }

    fn list_dir(
        &mut self,
        path: String,
        max_entries: u32,
    ) -> wasmtime::Result<Result<(Vec<DirEntry>, bool), CapError>> {
        let call = Call::new(self, "list", Access::Read);
        call.finish(call.list_dir(&path, max_entries))
    }

    fn stat(&mut self, path: String) -> wasmtime::Result<Result<FileStat, CapError>> {
        let call = Call::new(self, "stat", Access::Read);
        call.finish(call.stat(&path))
    }
}
