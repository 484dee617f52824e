//! The `fs` capability (`wit/fs.wit`) and its policy section `[roles.R.fs]`.
//!
//! ```toml
//! [roles.ops.fs]
//! read = ["/var/log/**", "/etc/*.conf"]
//! write = ["/tmp/llmagent/**"]
//! ```
//!
//! `read` and `write` are separate lists of globs over absolute paths: `*`
//! and `?` stay inside one path component, `**` crosses `/`. Which list an
//! operation needs:
//!
//! | operation | needs |
//! |---|---|
//! | `read`, `list-dir`, `stat` | `read` |
//! | `write`, `delete` | `write` (which implies nothing about `read`) |
//!
//! A `read` glob ending in `/**` also grants the directory itself, so
//! `"/var/log/**"` lets a tool list `/var/log`.
//!
//! **Parse → compile → decide.** [`FsToml`] is the raw section;
//! [`FsPolicy::compile`] checks every glob (absolute, no `..`, valid syntax)
//! and computes its *base*: the longest leading directory without glob
//! metacharacters (`/var/log` for `/var/log/*.log`), canonicalised when it
//! exists, so `/var/run/**` also matches `/run/…` when `/var/run` links
//! there. [`FsPolicy::decide`] is the pure decision over a real path.
//!
//! **Enforcement** never follows a requested path with the ordinary path
//! functions. For each grant whose base contains the request, the host opens
//! the base directory and the rest of the path beneath it with `openat2`
//! (`RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`), so `..`, symlinks that lead
//! out (absolute or relative, created before or after the policy was
//! compiled) and magic links (`/proc/self/root`, `/proc/self/fd/N`) cannot
//! leave the tree. The real path of the opened descriptor is then decided
//! against the globs themselves (a glob may be narrower than its base), and
//! the operation works on that descriptor. Every decision, allow or deny, is
//! reported to the [`Sink`](crate::Sink).
//!
//! A path that leaves its base through `..` or a symlink is not refused
//! outright: it is expanded one symlink at a time, each read only beneath a
//! granted base (`follow.rs`), so `/etc/os-release → ../usr/lib/os-release`
//! works when both trees are granted, and a link out of every grant is
//! denied naming where it leads. Magic links are never followed.
//!
//! A path that does not exist answers `not-found` only when the policy
//! would grant it (lexically); otherwise `denied`, so a tool cannot probe
//! for files outside its grants.

mod follow;
mod host;
mod policy;
mod resolve;
#[cfg(test)]
mod tests;

pub use policy::{Access, FsPolicy, FsToml, Grant, check_plantable_links};
pub use resolve::open_rule_root;
