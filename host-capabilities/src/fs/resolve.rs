//! Resolving a requested path beneath a granted tree, race-free: the base
//! directory is opened first, the rest with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_MAGICLINKS)`, and the real path is read back from the
//! descriptor. Nothing here decides; [`super::host`] does.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use rustix::fs::{CWD, Mode, OFlags, ResolveFlags, openat, openat2};
use rustix::io::Errno;

use super::policy::{Access, FsPolicy, Grant};
use crate::bindings::{CapError, Denial};

/// `openat2` answers `EAGAIN` when a concurrent rename or mount raced a
/// `..` lookup beneath the base; a few retries always suffice unless someone
/// is racing on purpose, and then `io` is the right answer.
const OPENAT2_ATTEMPTS: usize = 4;

/// A requested path, checked to be absolute.
#[derive(Debug)]
pub(super) struct Request<'a> {
    /// As the tool gave it.
    pub raw: &'a str,
    /// Its components, without empty and `.` ones (`..` kept).
    pub comps: Vec<&'a str>,
}

impl<'a> Request<'a> {
    /// Checks that `raw` is a usable absolute path.
    pub fn parse(raw: &'a str) -> Result<Self, CapError> {
        if raw.is_empty() {
            return Err(CapError::InvalidArgument(
                "the path is empty; give an absolute path such as \"/var/log/syslog\"".into(),
            ));
        }
        if !raw.starts_with('/') {
            return Err(CapError::InvalidArgument(format!(
                "\"{raw}\" is not an absolute path; give the full path, starting with \"/\""
            )));
        }
        if raw.contains('\0') {
            return Err(CapError::InvalidArgument(format!(
                "\"{}\" contains a NUL byte",
                raw.escape_debug()
            )));
        }
        let comps = raw
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        Ok(Self { raw, comps })
    }

    /// The path with `..` applied lexically (what it names if no symlink
    /// is involved).
    pub fn lexical(&self) -> PathBuf {
        lexical(&self.comps)
    }

    /// For `write` and `delete`: the parent's components and the final
    /// name, which must be a plain name.
    pub fn split_name(&self) -> Result<(&[&'a str], &'a str), CapError> {
        let trailing =
            self.raw.ends_with('/') || self.raw.ends_with("/.") || self.raw.ends_with("/..");
        match self.comps.split_last() {
            Some((name, parent)) if !trailing && *name != ".." => Ok((parent, name)),
            _ => Err(CapError::InvalidArgument(format!(
                "\"{}\" does not name a file; give the file's path without a trailing \"/\", \".\" or \"..\"",
                self.raw
            ))),
        }
    }
}

/// `comps` with `..` applied lexically, as an absolute path.
pub(super) fn lexical(comps: &[&str]) -> PathBuf {
    let mut out: Vec<&str> = Vec::new();
    for c in comps {
        if *c == ".." {
            out.pop();
        } else {
            out.push(c);
        }
    }
    PathBuf::from(format!("/{}", out.join("/")))
}

/// Why a path could not be opened beneath any grant.
#[derive(Debug)]
pub(super) enum OpenError {
    /// It (or its base) does not exist; the caller decides whether to say
    /// `not-found` or `denied`.
    NotFound(String),
    /// No grant's base contains it; the caller denies, naming its target.
    Outside,
    /// Any other answer for the tool (a denial, `io` …).
    Cap(CapError),
}

impl From<CapError> for OpenError {
    fn from(e: CapError) -> Self {
        OpenError::Cap(e)
    }
}

/// An opened descriptor and its real path.
#[derive(Debug)]
pub(super) struct Opened {
    pub fd: OwnedFd,
    pub real: PathBuf,
}

/// Opens `comps` (with `flags`) beneath a grant of `access`. When the
/// path leaves its base through `..` or a symlink, it is expanded one
/// symlink at a time ([`super::follow::expand`]), each step beneath some
/// granted base, and the symlink-free result is opened instead; if that
/// lies outside every grant the answer is a denial naming where it leads.
pub(super) fn open_beneath(
    policy: &FsPolicy,
    access: Access,
    raw: &str,
    comps: &[&str],
    flags: OFlags,
) -> Result<Opened, OpenError> {
    match open_direct(policy, access, raw, comps, flags) {
        Err(Direct::Escapes) => {}
        Ok(opened) => return Ok(opened),
        Err(Direct::Failed(e)) => return Err(e),
    }
    let resolved = super::follow::expand(policy, access, raw, comps)?;
    let resolved_comps: Vec<&str> = resolved.split('/').filter(|c| !c.is_empty()).collect();
    match open_direct(policy, access, raw, &resolved_comps, flags) {
        Ok(opened) => Ok(opened),
        Err(Direct::Failed(OpenError::Outside)) => Err(OpenError::Cap(resolves_outside(
            policy, access, raw, &resolved,
        ))),
        Err(Direct::Failed(e)) => Err(e),
        // A symlink was swapped in between the two resolutions.
        Err(Direct::Escapes) => Err(OpenError::Cap(denied(
            Path::new(raw),
            format!(
                "\"{raw}\" changed while it was being resolved (a symlink was swapped in); if it should be \
                 reachable, {}",
                policy.hint(access, Path::new(&resolved))
            ),
        ))),
    }
}

/// Why [`open_direct`] failed.
enum Direct {
    /// The path left its base through `..` or a symlink (`EXDEV`).
    Escapes,
    /// Any other failure.
    Failed(OpenError),
}

/// The denial of a path that resolves, through `..` or symlinks, to
/// `resolved`, which no grant covers.
pub(super) fn resolves_outside(
    policy: &FsPolicy,
    access: Access,
    raw: &str,
    resolved: &str,
) -> CapError {
    denied(
        Path::new(resolved),
        format!(
            "\"{raw}\" resolves to \"{resolved}\", outside the granted trees; {}",
            policy.hint(access, Path::new(resolved))
        ),
    )
}

/// Opens `comps` beneath the base of the first grant of `access` that
/// contains it and lets it open. Tried on the components as written, then
/// (if no base contains those) on their lexical form.
fn open_direct(
    policy: &FsPolicy,
    access: Access,
    raw: &str,
    comps: &[&str],
    flags: OFlags,
) -> Result<Opened, Direct> {
    let normal = lexical(comps);
    let normal_comps: Vec<&str> = normal
        .to_str()
        .unwrap_or("/")
        .split('/')
        .filter(|c| !c.is_empty())
        .collect();
    let mut first: Option<Direct> = None;
    let mut tried = false;
    for attempt in [comps, normal_comps.as_slice()] {
        for grant in policy.grants(access) {
            let Some(rest) = rest_beneath(grant, attempt) else {
                continue;
            };
            tried = true;
            match open_in(policy, access, grant, raw, rest, flags) {
                Ok(opened) => return Ok(opened),
                Err(e) => {
                    first.get_or_insert(e);
                }
            }
        }
        if tried {
            break;
        }
    }
    Err(first.unwrap_or(Direct::Failed(OpenError::Outside)))
}

/// The components of `comps` after the grant's base (as written or
/// canonical), if the base contains them.
pub(super) fn rest_beneath<'c, 'p>(grant: &Grant, comps: &'c [&'p str]) -> Option<&'c [&'p str]> {
    fn strip<'c, 'p>(comps: &'c [&'p str], base: &Path) -> Option<&'c [&'p str]> {
        let base_comps: Vec<&str> = base
            .to_str()?
            .split('/')
            .filter(|c| !c.is_empty())
            .collect();
        let contained =
            comps.len() >= base_comps.len() && comps.iter().zip(&base_comps).all(|(a, b)| a == b);
        if contained {
            comps.get(base_comps.len()..)
        } else {
            None
        }
    }
    strip(comps, grant.base()).or_else(|| grant.canonical_base().and_then(|c| strip(comps, c)))
}

fn open_in(
    policy: &FsPolicy,
    access: Access,
    grant: &Grant,
    raw: &str,
    rest: &[&str],
    flags: OFlags,
) -> Result<Opened, Direct> {
    let base = open_base(policy, access, grant).map_err(Direct::Failed)?;
    let rest_path = if rest.is_empty() {
        ".".to_owned()
    } else {
        rest.join("/")
    };
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
    let fd =
        openat2_retry(&base, &rest_path, flags, Mode::empty(), resolve).map_err(|e| match e {
            Errno::XDEV => Direct::Escapes,
            other => Direct::Failed(escape_or_os(policy, access, grant, raw, other, "open")),
        })?;
    let real = real_path(&fd, raw).map_err(|e| Direct::Failed(OpenError::Cap(e)))?;
    Ok(Opened { fd, real })
}

/// Opens a grant's base directory without following any symlink: at its
/// canonical path when it existed at compile time (so a component swapped
/// for a symlink since then is refused), else as written (a symlink there
/// now was never checked, so it is refused too).
pub(super) fn open_base(
    policy: &FsPolicy,
    access: Access,
    grant: &Grant,
) -> Result<OwnedFd, OpenError> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let base_shown = grant.base().display().to_string();
    let opened = openat2_retry(
        CWD,
        grant.canonical_base().unwrap_or(grant.base()),
        flags,
        Mode::empty(),
        ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    );
    opened.map_err(|e| match e {
        Errno::NOENT | Errno::NOTDIR => {
            OpenError::NotFound(format!("the granted directory \"{base_shown}\" does not exist"))
        }
        Errno::LOOP if grant.canonical_base().is_some() => OpenError::Cap(denied(
            grant.base(),
            format!(
                "the granted directory \"{base_shown}\" has been replaced by a symlink since the policy was loaded; \
                 reload the policy, or {}",
                policy.hint(access, grant.base())
            ),
        )),
        Errno::LOOP => OpenError::Cap(denied(
            grant.base(),
            format!(
                "the granted directory \"{base_shown}\" did not exist when the policy was loaded and now goes \
                 through a symlink, which is not followed; reload the policy so that its real path is checked, or {}",
                policy.hint(access, grant.base())
            ),
        )),
        other => OpenError::Cap(os_error("open the granted directory", &base_shown, other)),
    })
}

/// Opens (`O_PATH`) what a program's Landlock rule for `grant` covers,
/// following no symlink: the path canonicalised when the policy was loaded,
/// or as written when it did not exist then. `None` when it does not exist
/// now (the rule grants nothing); an error saying what to do when a symlink
/// stands on the way, which a tool with a write grant may have planted to
/// widen the grant (`/t/in` replaced by a link to `/`).
pub fn open_rule_root(grant: &Grant) -> Result<Option<OwnedFd>, String> {
    let (path, canonical) = grant.rule_root();
    let opened = openat2_retry(
        CWD,
        path,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    );
    let pattern = grant.pattern();
    let shown = path.display();
    match opened {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT | Errno::NOTDIR) => Ok(None),
        Err(Errno::LOOP) if canonical => Err(format!(
            "the grant \"{pattern}\" covers \"{shown}\", which has been replaced by (or now goes through) a symlink \
             since the policy was loaded; it is not followed. Remove the symlink (a tool may have planted it) and \
             restore the directory, or grant the real path and reload the policy"
        )),
        Err(Errno::LOOP) => Err(format!(
            "the grant \"{pattern}\" covers \"{shown}\", which did not exist when the policy was loaded and now goes \
             through a symlink; it is not followed. Reload the policy so that its real path is checked, or grant the \
             real path"
        )),
        Err(e) => Err(format!(
            "cannot open \"{shown}\" (granted by \"{pattern}\") for the program's Landlock rules: {}",
            std::io::Error::from(e)
        )),
    }
}

/// Maps an error of a beneath-open: leaving the tree is a denial, the rest
/// are OS answers.
pub(super) fn escape_or_os(
    policy: &FsPolicy,
    access: Access,
    grant: &Grant,
    raw: &str,
    e: Errno,
    what: &str,
) -> OpenError {
    let base = grant.base().display();
    let key = policy.key(access);
    match e {
        Errno::XDEV => OpenError::Cap(denied(
            Path::new(raw),
            format!(
                "\"{raw}\" resolves outside the granted tree \"{base}\" (through \"..\" or a symlink); \
                 to allow what it points to, add its real path (or a glob matching it) to {key}"
            ),
        )),
        Errno::LOOP => OpenError::Cap(denied(
            Path::new(raw),
            format!(
                "\"{raw}\" cannot be resolved inside the granted tree \"{base}\": it goes through a magic link \
                 (such as /proc/self/root or /proc/self/fd/N) or a symlink loop; \
                 use the real path, and if it is not granted add it (or a glob matching it) to {key}"
            ),
        )),
        Errno::NOENT => OpenError::NotFound(format!("{what} \"{raw}\": no such file or directory")),
        other => OpenError::Cap(os_error(what, raw, other)),
    }
}

/// `openat2`, retried on `EAGAIN`; `ENOSYS` means a kernel before 5.6.
pub(super) fn openat2_retry<Fd: AsFd, P: AsRef<Path>>(
    dir: Fd,
    path: P,
    flags: OFlags,
    mode: Mode,
    resolve: ResolveFlags,
) -> Result<OwnedFd, Errno> {
    let mut last = Errno::AGAIN;
    for _ in 0..OPENAT2_ATTEMPTS {
        match openat2(dir.as_fd(), path.as_ref(), flags, mode, resolve) {
            Err(Errno::AGAIN) => last = Errno::AGAIN,
            other => return other,
        }
    }
    Err(last)
}

/// The real path of an open descriptor, read back through
/// `/proc/self/fd/N`.
pub(super) fn real_path(fd: &OwnedFd, raw: &str) -> Result<PathBuf, CapError> {
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    rustix::fs::readlinkat(CWD, link.as_str(), Vec::new())
        .map(|c| PathBuf::from(OsString::from_vec(c.into_bytes())))
        .map_err(|e| {
            CapError::Io(format!(
                "cannot read back the real path of \"{raw}\" through /proc/self/fd (is /proc mounted?): {}",
                std::io::Error::from(e)
            ))
        })
}

/// Reopens an `O_PATH` descriptor for I/O through its `/proc/self/fd`
/// link: the same inode, after the policy has been checked on it.
pub(super) fn reopen(
    fd: &OwnedFd,
    flags: OFlags,
    raw: &str,
    what: &str,
) -> Result<OwnedFd, CapError> {
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    openat(
        CWD,
        link.as_str(),
        flags | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .map_err(|e| os_error(what, raw, e))
}

/// A denial of the `fs` capability.
pub(super) fn denied(target: &Path, hint: String) -> CapError {
    CapError::Denied(Denial {
        capability: "fs".into(),
        target: target.display().to_string(),
        hint,
    })
}

/// An OS error on `path` while doing `what` (`open`, `read` …).
pub(super) fn os_error(what: &str, path: &str, e: Errno) -> CapError {
    let detail = match e {
        Errno::NOENT => {
            return CapError::NotFound(format!("{what} \"{path}\": no such file or directory"));
        }
        Errno::ACCESS | Errno::PERM => {
            "permission denied by the operating system (the llmagent process may not access it)"
                .to_owned()
        }
        Errno::NOTDIR => "a component of the path is not a directory".to_owned(),
        Errno::ISDIR => "it is a directory".to_owned(),
        Errno::NOSYS => {
            return CapError::Unsupported(
                "the fs capability needs openat2 (Linux 5.6 or later), which this kernel lacks"
                    .into(),
            );
        }
        other => std::io::Error::from(other).to_string(),
    };
    CapError::Io(format!("{what} \"{path}\": {detail}"))
}
