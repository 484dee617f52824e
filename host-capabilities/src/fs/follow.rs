//! Following `..` and symlinks that lead from one granted tree to another
//! (`/etc/os-release` → `../usr/lib/os-release`, `/etc/localtime` →
//! `/usr/share/zoneinfo/…`), which `RESOLVE_BENEATH` alone refuses.
//!
//! The path is walked one component at a time beneath a granted base, never
//! following anything: each prefix is opened with `O_PATH | O_NOFOLLOW` and
//! `RESOLVE_NO_SYMLINKS`, so the components walked so far are known to be
//! real directories and `..` over them can be applied lexically. A symlink
//! found on the way is read (it lies inside a granted tree) and spliced into
//! the path, and the walk starts again from whichever grant contains the
//! new path. The answer is a symlink-free absolute path; it is then opened
//! and decided like any other, so what a symlink points to is reachable
//! only if the policy grants it.

use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags, fstat, readlinkat};

use super::policy::{Access, FsPolicy};
use super::resolve::{
    OpenError, escape_or_os, open_base, openat2_retry, real_path, resolves_outside, rest_beneath,
};
use crate::bindings::CapError;

/// Symlinks followed in one resolution: the kernel's own limit
/// (`MAXSYMLINKS`), past which `open(2)` answers `ELOOP` too.
const MAX_SYMLINK_HOPS: usize = 40;

/// Expands `comps` into a symlink-free absolute path, reading only symlinks
/// that lie beneath a granted base.
pub(super) fn expand(
    policy: &FsPolicy,
    access: Access,
    raw: &str,
    comps: &[&str],
) -> Result<String, OpenError> {
    let mut path: Vec<String> = comps.iter().map(|c| (*c).to_owned()).collect();
    let mut hops = 0;
    'restart: loop {
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let Some((grant, rest_len)) = policy
            .grants(access)
            .iter()
            .find_map(|g| rest_beneath(g, &refs).map(|rest| (g, rest.len())))
        else {
            let resolved = super::resolve::lexical(&refs).display().to_string();
            return Err(OpenError::Cap(resolves_outside(
                policy, access, raw, &resolved,
            )));
        };
        let rest: Vec<String> = path
            .get(path.len().saturating_sub(rest_len)..)
            .unwrap_or_default()
            .to_vec();
        let base = open_base(policy, access, grant)?;
        let base_real = real_path(&base, raw)?;
        let base_comps = components(&base_real);
        let mut rel: Vec<String> = Vec::new();
        for (i, comp) in rest.iter().enumerate() {
            let remaining = rest.get(i + 1..).unwrap_or_default();
            if comp == ".." {
                if rel.pop().is_none() {
                    // Leaves the base: carry on from its real parent.
                    path = base_comps
                        .iter()
                        .take(base_comps.len().saturating_sub(1))
                        .cloned()
                        .collect();
                    path.extend(remaining.iter().cloned());
                    continue 'restart;
                }
                continue;
            }
            rel.push(comp.clone());
            let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let resolve =
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
            let fd = openat2_retry(&base, rel.join("/"), flags, Mode::empty(), resolve)
                .map_err(|e| escape_or_os(policy, access, grant, raw, e, "open"))?;
            let st = fstat(&fd).map_err(|e| escape_or_os(policy, access, grant, raw, e, "stat"))?;
            if FileType::from_raw_mode(st.st_mode) != FileType::Symlink {
                continue;
            }
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(OpenError::Cap(CapError::Io(format!(
                    "open \"{raw}\": more than {MAX_SYMLINK_HOPS} symlinks to follow (a symlink loop?)"
                ))));
            }
            let target = readlinkat(&fd, "", Vec::new())
                .map_err(|e| escape_or_os(policy, access, grant, raw, e, "read the symlink"))?;
            let target = String::from_utf8(target.into_bytes()).map_err(|_| {
                OpenError::Cap(CapError::Io(format!(
                    "open \"{raw}\": a symlink on the way points to a non-UTF-8 path"
                )))
            })?;
            rel.pop();
            let mut next: Vec<String> = if target.starts_with('/') {
                Vec::new()
            } else {
                base_comps.iter().chain(&rel).cloned().collect()
            };
            next.extend(
                target
                    .split('/')
                    .filter(|c| !c.is_empty() && *c != ".")
                    .map(str::to_owned),
            );
            next.extend(remaining.iter().cloned());
            path = next;
            continue 'restart;
        }
        let all: Vec<&str> = base_comps.iter().chain(&rel).map(String::as_str).collect();
        return Ok(format!("/{}", all.join("/")));
    }
}

/// The components of an absolute path, as owned strings.
fn components(path: &Path) -> Vec<String> {
    path.to_string_lossy()
        .split('/')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}
