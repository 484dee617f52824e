//! `user` and `group` of `[roles.R.exec]`: the uid and gid children run
//! as, resolved when the policy is compiled, and the switch in the child.
//!
//! `user` names a user or a numeric uid; children take its uid and, unless
//! `group` is given, its primary group. `group` alone changes only the
//! gid. Either drops every supplementary group. Names are looked up
//! through the C library (`getpwnam_r`, `getgrnam_r`: `/etc/passwd`,
//! LDAP, whatever NSS is configured with), once, at compile time: a user
//! that does not exist is a policy error, and a user renamed later does
//! not change what a loaded policy runs as.
//!
//! In the child (see `harden::drop_capabilities`) the switch comes after
//! the securebits are locked and the bounding set emptied (both need
//! `CAP_SETPCAP`) and before the permitted and effective sets are emptied
//! (it needs `CAP_SETUID` and `CAP_SETGID`): `setgroups([])`, then
//! `setgid`, then `setuid` (after `setuid` the process could no longer
//! change its groups). The locked `NO_SETUID_FIXUP` securebit keeps the
//! kernel from adjusting capabilities on the uid change, so the explicit
//! emptying that follows is what leaves the child without any.

use nix::unistd::{Gid, Group, Uid, User};
use serde::Deserialize;

use crate::error::CompileError;

/// A user or group as written: a name or a numeric id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum IdToml {
    /// A numeric id, `user = 65534`.
    Id(u32),
    /// A name, or a numeric id written as a string: `user = "nobody"`.
    Name(String),
}

/// The uid and gid children run as; `None` keeps llmagent's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Identity {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl Identity {
    /// Whether children switch identity at all.
    pub fn is_set(self) -> bool {
        self.uid.is_some() || self.gid.is_some()
    }

    /// Resolves `user` and `group` of a section.
    pub fn compile(user: Option<&IdToml>, group: Option<&IdToml>) -> Result<Self, CompileError> {
        let gid = group.map(resolve_group).transpose()?;
        let Some(user) = user else {
            return Ok(Self { uid: None, gid });
        };
        let (uid, primary) = resolve_user(user)?;
        let gid = match (gid, primary) {
            (Some(g), _) | (None, Some(g)) => g,
            (None, None) => {
                return Err(CompileError::new(
                    "user",
                    format!(
                        "uid {uid} has no passwd entry, so it has no primary group; set group too"
                    ),
                ));
            }
        };
        Ok(Self {
            uid: Some(uid),
            gid: Some(gid),
        })
    }

    /// `uid 65534 (nobody), gid 65534 (nogroup), no supplementary groups`
    /// or what children keep when nothing is set, for `policy check`.
    pub fn summary(self) -> String {
        if !self.is_set() {
            return "children keep llmagent's uid and groups (no user set): when llmagent runs as \
                    root they remain uid 0 for file permissions, and only Landlock keeps them \
                    inside their fs grants"
                .into();
        }
        let uid = self.uid.unwrap_or_else(|| Uid::effective().as_raw());
        let gid = self.gid.unwrap_or_else(|| Gid::effective().as_raw());
        let user = User::from_uid(Uid::from_raw(uid)).ok().flatten();
        let group = Group::from_gid(Gid::from_raw(gid)).ok().flatten();
        let named = |id: u32, name: Option<String>| match name {
            Some(n) => format!("{id} ({n})"),
            None => id.to_string(),
        };
        format!(
            "children run as uid {}, gid {}, no supplementary groups",
            named(uid, user.map(|u| u.name)),
            named(gid, group.map(|g| g.name))
        )
    }
}

/// A numeric id as written (`"65534"` or `65534`), if it is one.
fn numeric(id: &IdToml) -> Result<Option<u32>, String> {
    let n = match id {
        IdToml::Id(n) => *n,
        IdToml::Name(s) => match s.parse::<u32>() {
            Ok(n) => n,
            Err(_) if s.is_empty() => return Err("an empty name is not a user or group".into()),
            Err(_) => return Ok(None),
        },
    };
    if n == u32::MAX {
        return Err("4294967295 (-1) is not an id".into());
    }
    Ok(Some(n))
}

/// The uid and, when the user has a passwd entry, its primary gid.
fn resolve_user(user: &IdToml) -> Result<(u32, Option<u32>), CompileError> {
    let fail = |m: String| CompileError::new("user", m);
    if let Some(uid) = numeric(user).map_err(fail)? {
        let entry = User::from_uid(Uid::from_raw(uid)).ok().flatten();
        return Ok((uid, entry.map(|u| u.gid.as_raw())));
    }
    let IdToml::Name(name) = user else {
        return Err(fail("not a user".into()));
    };
    match User::from_name(name) {
        Ok(Some(u)) => Ok((u.uid.as_raw(), Some(u.gid.as_raw()))),
        Ok(None) => Err(fail(format!(
            "there is no user \"{name}\" on this system; create it or name another user (or a numeric uid)"
        ))),
        Err(e) => Err(fail(format!("cannot look up user \"{name}\": {e}"))),
    }
}

fn resolve_group(group: &IdToml) -> Result<u32, CompileError> {
    let fail = |m: String| CompileError::new("group", m);
    if let Some(gid) = numeric(group).map_err(fail)? {
        return Ok(gid);
    }
    let IdToml::Name(name) = group else {
        return Err(fail("not a group".into()));
    };
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(fail(format!(
            "there is no group \"{name}\" on this system; create it or name another group (or a numeric gid)"
        ))),
        Err(e) => Err(fail(format!("cannot look up group \"{name}\": {e}"))),
    }
}

/// Drops the supplementary groups, then sets the gid, then the uid; runs
/// in the forked child (raw syscalls only) while it still holds
/// `CAP_SETUID` and `CAP_SETGID`.
pub(crate) fn switch(identity: Identity) -> std::io::Result<()> {
    use rustix::thread::{set_thread_gid, set_thread_groups, set_thread_uid};
    if !identity.is_set() {
        return Ok(());
    }
    set_thread_groups(&[])?;
    if let Some(gid) = identity.gid {
        set_thread_gid(rustix::process::Gid::from_raw(gid))?;
    }
    if let Some(uid) = identity.uid {
        set_thread_uid(rustix::process::Uid::from_raw(uid))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> IdToml {
        IdToml::Name(s.into())
    }

    #[test]
    fn a_user_takes_its_primary_group_unless_a_group_is_given() {
        let root = Identity::compile(Some(&name("root")), None).unwrap();
        assert_eq!(
            root,
            Identity {
                uid: Some(0),
                gid: Some(0)
            }
        );
        let both = Identity::compile(Some(&IdToml::Id(0)), Some(&name("12345"))).unwrap();
        assert_eq!(
            both,
            Identity {
                uid: Some(0),
                gid: Some(12345)
            }
        );
        let group_only = Identity::compile(None, Some(&IdToml::Id(7))).unwrap();
        assert_eq!(
            group_only,
            Identity {
                uid: None,
                gid: Some(7)
            }
        );
    }

    #[test]
    fn an_unknown_user_or_group_is_a_compile_error_naming_the_key() {
        let e = Identity::compile(Some(&name("no-such-user-x")), None).unwrap_err();
        assert_eq!(
            e,
            CompileError::new(
                "user",
                "there is no user \"no-such-user-x\" on this system; create it or name another user (or a numeric uid)"
            )
        );
        let e = Identity::compile(None, Some(&name("no-such-group-x"))).unwrap_err();
        assert_eq!(e.key, "group");
        // A uid without a passwd entry needs a group.
        let e = Identity::compile(Some(&IdToml::Id(4_000_000_000)), None).unwrap_err();
        assert_eq!(e.key, "user");
        let e = Identity::compile(Some(&IdToml::Id(u32::MAX)), None).unwrap_err();
        assert_eq!(e.key, "user");
    }
}
