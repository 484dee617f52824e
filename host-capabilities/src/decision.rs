//! The one decision vocabulary of llmagent, shared by the policy (tool
//! actions), every capability, the [`Sink`](crate::Sink) and the
//! `policy.decision` events.
//!
//! A [`Ruling`] is what a policy decides, with its reason in a field of its
//! own: an allow carries the rule that matched, an approval the `approve`
//! entry that asks for a human, a denial the hint naming the key that would
//! allow it. Rulings are ordered by their [`Verdict`] (`Allow < Approve <
//! Deny`); when several rules match one request the strictest wins, and
//! among equals the first in the file ([`Ruling::strictest`]). Deciding is
//! pure: whatever I/O a decision needs (canonical paths, file identities)
//! happens before it, so rulings are easy to test exhaustively.
//!
//! A [`Decision`] is one ruling as it is reported: who decided (a
//! capability or the tool level), on which operation and target. It
//! serialises to the data of a `policy.decision` event:
//!
//! ```json
//! {"capability": "fs", "operation": "read", "target": "/etc/shadow",
//!  "verdict": "deny", "rule": null, "hint": "add \"/etc/shadow\" … to [roles.ops.fs].read"}
//! ```

use serde::ser::{Serialize, SerializeMap, Serializer};

/// How strict a ruling is. Ordered from the most to the least permissive,
/// so the strictest of several is their `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Go ahead once a human says yes; without one, deny.
    Approve,
    /// Refused.
    Deny,
}

impl Verdict {
    /// Every verdict, from the most permissive.
    pub const ALL: [Verdict; 3] = [Verdict::Allow, Verdict::Approve, Verdict::Deny];

    /// `allow`, `approve` or `deny`: the word events, `policy explain` and
    /// `[[tests]]` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Approve => "approve",
            Self::Deny => "deny",
        }
    }

    /// The verdict a word names, if any.
    pub fn parse(word: &str) -> Option<Verdict> {
        Self::ALL.into_iter().find(|v| v.as_str() == word)
    }
}

/// A decision and its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ruling {
    /// Allowed by `rule`, the policy entry that matched, as written:
    /// `[roles.ops.fs].read "/var/log/**"`.
    Allow {
        /// The rule that matched.
        rule: String,
    },
    /// Needs a human's yes, asked for by `rule`: `[roles.ops].approve
    /// "file.write"`.
    Approve {
        /// The `approve` entry that matched.
        rule: String,
    },
    /// Refused; `hint` says what would allow it, naming the policy key:
    /// `add "/etc/shadow" (or a glob matching it) to [roles.ops.fs].read`.
    Deny {
        /// The change to the policy that would allow the request.
        hint: String,
    },
}

impl Ruling {
    /// An allow by `rule`.
    pub fn allow(rule: impl Into<String>) -> Self {
        Self::Allow { rule: rule.into() }
    }

    /// A denial with `hint`.
    pub fn deny(hint: impl Into<String>) -> Self {
        Self::Deny { hint: hint.into() }
    }

    /// The verdict.
    pub fn verdict(&self) -> Verdict {
        match self {
            Self::Allow { .. } => Verdict::Allow,
            Self::Approve { .. } => Verdict::Approve,
            Self::Deny { .. } => Verdict::Deny,
        }
    }

    /// The rule that matched (allow, approve), `None` for a denial.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Self::Allow { rule } | Self::Approve { rule } => Some(rule),
            Self::Deny { .. } => None,
        }
    }

    /// The hint of a denial, `None` otherwise.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Self::Deny { hint } => Some(hint),
            Self::Allow { .. } | Self::Approve { .. } => None,
        }
    }

    /// The rule of an allow or approval, or the hint of a denial: the one
    /// line that explains the ruling.
    pub fn reason(&self) -> &str {
        match self {
            Self::Allow { rule } | Self::Approve { rule } => rule,
            Self::Deny { hint } => hint,
        }
    }

    /// The strictest of `rulings`; among equally strict ones the first.
    /// `None` when there are none (the caller's default applies, which is
    /// always a denial).
    pub fn strictest(rulings: impl IntoIterator<Item = Ruling>) -> Option<Ruling> {
        rulings.into_iter().reduce(|best, next| {
            if next.verdict() > best.verdict() {
                next
            } else {
                best
            }
        })
    }

    /// The strictest of `rulings`, or a denial with `hint` when none match
    /// (deny by default).
    pub fn strictest_or_deny(
        rulings: impl IntoIterator<Item = Ruling>,
        hint: impl FnOnce() -> String,
    ) -> Ruling {
        Self::strictest(rulings).unwrap_or_else(|| Self::deny(hint()))
    }
}

/// Who decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A host capability (`fs`, `exec` …).
    Capability(&'a str),
    /// The tool level: may this role call this tool action at all.
    Tool(&'a str),
}

/// One ruling as reported to a [`Sink`](crate::Sink) and recorded as a
/// `policy.decision` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'a> {
    /// Who decided, and its name.
    pub subject: Subject<'a>,
    /// The operation (`read`, `run`) or tool action (`sha256`).
    pub operation: &'a str,
    /// What it touches as the host resolved it (a canonical path, a
    /// program and its arguments, a pid); `""` when nothing in particular.
    pub target: &'a str,
    /// The ruling.
    pub ruling: &'a Ruling,
    /// For a tool action that needs approval: whether a human said yes.
    pub approved: Option<bool>,
}

impl<'a> Decision<'a> {
    /// A capability's decision.
    pub fn capability(
        capability: &'a str,
        operation: &'a str,
        target: &'a str,
        ruling: &'a Ruling,
    ) -> Self {
        Self {
            subject: Subject::Capability(capability),
            operation,
            target,
            ruling,
            approved: None,
        }
    }
}

/// The data of a `policy.decision` event: `capability` or `tool` (its
/// name), `operation`, `target`, `verdict`, `rule` (`null` for a denial),
/// `hint` (denials only), `approved` (approvals only).
impl Serialize for Decision<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self.subject {
            Subject::Capability(name) => map.serialize_entry("capability", name)?,
            Subject::Tool(name) => map.serialize_entry("tool", name)?,
        }
        map.serialize_entry("operation", self.operation)?;
        map.serialize_entry("target", self.target)?;
        map.serialize_entry("verdict", self.ruling.verdict().as_str())?;
        map.serialize_entry("rule", &self.ruling.rule())?;
        if let Some(hint) = self.ruling.hint() {
            map.serialize_entry("hint", hint)?;
        }
        if let Some(approved) = self.approved {
            map.serialize_entry("approved", &approved)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strictest_ruling_wins_and_the_first_among_equals() {
        let a1 = Ruling::allow("a1");
        let a2 = Ruling::allow("a2");
        let p = Ruling::Approve { rule: "p".into() };
        let d = Ruling::deny("d");
        assert_eq!(
            Ruling::strictest([a1.clone(), a2.clone()]),
            Some(a1.clone())
        );
        assert_eq!(
            Ruling::strictest([a1.clone(), p.clone(), a2]),
            Some(p.clone())
        );
        assert_eq!(Ruling::strictest([p, d.clone(), a1]), Some(d));
        assert_eq!(Ruling::strictest([]), None);
        assert_eq!(
            Ruling::strictest_or_deny([], || "add it".into()),
            Ruling::deny("add it")
        );
    }

    #[test]
    fn verdict_words_round_trip() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
        }
        assert_eq!(Verdict::parse("yes"), None);
        assert!(Verdict::Allow < Verdict::Approve && Verdict::Approve < Verdict::Deny);
    }
}
