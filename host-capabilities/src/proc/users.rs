//! User names for uids, from `/etc/passwd`.
//!
//! Parsed here rather than through `getpwuid` (the `uzers` crate): NSS
//! may ask a directory server (LDAP, sssd) and block a tool call for as
//! long as that takes, and `ps` shows local names anyway. A uid without a
//! local entry is shown as its number, as the WIT contract says.

use std::collections::HashMap;

/// Local users by uid.
#[derive(Debug, Clone, Default)]
pub(crate) struct Users(HashMap<u32, String>);

impl Users {
    /// `/etc/passwd` as it is now; empty when unreadable.
    pub(crate) fn load() -> Self {
        std::fs::read_to_string("/etc/passwd")
            .map(|t| Self::parse(&t))
            .unwrap_or_default()
    }

    /// Parses `name:password:uid:…` lines; the first entry of a uid wins,
    /// as with `getpwuid`. Malformed lines are skipped.
    pub(crate) fn parse(text: &str) -> Self {
        let mut map = HashMap::new();
        for line in text.lines() {
            let mut fields = line.split(':');
            let (Some(name), Some(_), Some(uid)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if let (false, Ok(uid)) = (name.is_empty(), uid.parse::<u32>()) {
                map.entry(uid).or_insert_with(|| name.to_owned());
            }
        }
        Self(map)
    }

    /// The name of `uid`, or the number when it has none.
    pub(crate) fn name(&self, uid: u32) -> String {
        self.0.get(&uid).cloned().unwrap_or_else(|| uid.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::Users;

    #[test]
    fn names_come_from_the_first_entry_and_unknown_uids_are_numbers() {
        let u = Users::parse(
            "root:x:0:0::/root:/bin/sh\nbad line\ntoor:x:0:0::/:/bin/sh\nweb:x:33:33::/:/bin/false\n:x:7:7::/:\n",
        );
        assert_eq!(
            [u.name(0), u.name(33), u.name(7), u.name(4242)],
            ["root", "web", "7", "4242"]
        );
    }
}
