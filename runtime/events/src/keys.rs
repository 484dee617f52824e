//! Key encodings of the keyspaces.
//!
//! - `events`: `seq` (u64 big-endian) → the event's JSON.
//! - `index`: keys `a|agent|0|seq`, `t|topic|0|seq`, `s|ts_micros|seq`
//!   (all integers big-endian, `ts` with its sign bit flipped so that byte
//!   order is time order). Values are empty except the topic entries',
//!   which hold the event's kind (bounded like a key part; empty in
//!   entries written before 2026-12, meaning "look at the event"). Stores
//!   of that time also had `k|kind|0|seq`, removed at open.
//! - `messages`: `agent|0|seq` → the `agent.message` event's JSON (a
//!   covering index, so that rebuilding a history reads one range).
//! - `meta`: `last_seq`, `bytes`, `indexed_to` (see [`crate::index`]),
//!   `spool:<file>` → u64; `bytes_at` → seq ‖ bytes; `no_kind_index` → 1.
//! - `memory`: `agent|0|key` → JSON value.
//!
//! A string field is followed by a 0 byte and a fixed 8-byte seq, so a key
//! is decoded from its end; an exact match checks the length, so `a` never
//! matches entries of `a\0b`.
//!
//! Every string in a key is bounded ([`part`]): fjall refuses keys over
//! 64 KiB with a panic, and a topic, agent or tool name can come from a
//! model. A longer string is kept whole in the event's JSON; its key part is
//! its first bytes and a hash of the whole, so lookups still find it.

use std::borrow::Cow;

/// The longest string kept whole in a key. Far above any real topic, kind,
/// agent or tool name, far below fjall's 64 KiB key limit.
pub(crate) const MAX_KEY_PART: usize = 1024;

pub(crate) const AGENT: u8 = b'a';
pub(crate) const TOPIC: u8 = b't';
pub(crate) const KIND: u8 = b'k';
pub(crate) const TS: u8 = b's';

pub(crate) fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

pub(crate) fn decode_seq(bytes: &[u8]) -> Option<u64> {
    let arr: [u8; 8] = bytes.try_into().ok()?;
    Some(u64::from_be_bytes(arr))
}

/// `s` as it appears in keys: itself up to [`MAX_KEY_PART`] bytes, else
/// its first bytes, `#` and the 64-bit FNV-1a hash of the whole in hex
/// ([`MAX_KEY_PART`] bytes in all). Deterministic across versions and runs.
pub(crate) fn part(s: &str) -> Cow<'_, [u8]> {
    if s.len() <= MAX_KEY_PART {
        return Cow::Borrowed(s.as_bytes());
    }
    let hash = s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let suffix = format!("#{hash:016x}");
    let mut k = s.as_bytes()[..MAX_KEY_PART - suffix.len()].to_vec();
    k.extend_from_slice(suffix.as_bytes());
    Cow::Owned(k)
}

/// `tag|s|0` — the prefix of every entry of `s`.
pub(crate) fn str_prefix(tag: u8, s: &str) -> Vec<u8> {
    let s = part(s);
    let mut k = Vec::with_capacity(s.len() + 10);
    k.push(tag);
    k.extend_from_slice(&s);
    k.push(0);
    k
}

/// `tag|s|0|seq`.
pub(crate) fn str_key(tag: u8, s: &str, seq: u64) -> Vec<u8> {
    let mut k = Vec::new();
    str_key_into(&mut k, tag, s, seq);
    k
}

/// `tag|s|0|seq`, written into `k` (reused by appends: no allocation).
pub(crate) fn str_key_into(k: &mut Vec<u8>, tag: u8, s: &str, seq: u64) {
    k.clear();
    k.push(tag);
    k.extend_from_slice(&part(s));
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
}

/// The seq of a `tag|s|0|seq` key whose string is exactly `s`.
pub(crate) fn str_key_seq(key: &[u8], s: &str) -> Option<u64> {
    if key.len() != part(s).len() + 10 {
        return None;
    }
    decode_seq(&key[key.len() - 8..])
}

/// The string and seq of a `tag|s|0|seq` key.
pub(crate) fn split_str_key(key: &[u8]) -> Option<(&[u8], u64)> {
    if key.len() < 10 || key[key.len() - 9] != 0 {
        return None;
    }
    Some((&key[1..key.len() - 9], decode_seq(&key[key.len() - 8..])?))
}

fn ts_bytes(micros: i64) -> [u8; 8] {
    ((micros as u64) ^ (1 << 63)).to_be_bytes()
}

/// `s|ts|seq`.
pub(crate) fn ts_key(micros: i64, seq: u64) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = TS;
    k[1..9].copy_from_slice(&ts_bytes(micros));
    k[9..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The first `s|…` key of events strictly later than `micros`.
pub(crate) fn ts_after(micros: i64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = TS;
    k[1..].copy_from_slice(&ts_bytes(micros.saturating_add(1)));
    k
}

/// The seq of an `s|ts|seq` key.
pub(crate) fn ts_key_seq(key: &[u8]) -> Option<u64> {
    if key.len() != 17 {
        return None;
    }
    decode_seq(&key[9..])
}

/// `agent|0|seq` (messages) or `agent|0|key` (memory); a memory key is
/// bounded like the agent.
pub(crate) fn owned_key(agent: &str, rest: &[u8]) -> Vec<u8> {
    let agent = part(agent);
    let rest = match std::str::from_utf8(rest) {
        Ok(s) if rest.len() > MAX_KEY_PART => part(s),
        _ => Cow::Borrowed(rest),
    };
    let mut k = Vec::with_capacity(agent.len() + 1 + rest.len());
    k.extend_from_slice(&agent);
    k.push(0);
    k.extend_from_slice(&rest);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_keys_round_trip_and_do_not_alias() {
        let k = str_key(AGENT, "a", 7);
        assert_eq!(str_key_seq(&k, "a"), Some(7));
        assert_eq!(split_str_key(&k), Some((&b"a"[..], 7)));
        let other = str_key(AGENT, "a\0b", 9);
        assert!(other.starts_with(&str_prefix(AGENT, "a")));
        assert_eq!(str_key_seq(&other, "a"), None);
    }

    #[test]
    fn long_strings_are_bounded_in_keys_and_stay_distinct() {
        let long = "x".repeat(70_000);
        let longer = format!("{long}y");
        let k = str_key(TOPIC, &long, 3);
        assert_eq!(k.len(), MAX_KEY_PART + 10);
        assert_eq!(str_key_seq(&k, &long), Some(3));
        assert_ne!(part(&long), part(&longer));
        assert_eq!(part("tool.file"), &b"tool.file"[..]);
        assert!(owned_key(&long, &long.as_bytes()[..2000]).len() <= 2 * MAX_KEY_PART + 1);
    }

    #[test]
    fn time_keys_sort_by_time_then_seq() {
        let mut keys = vec![ts_key(5, 1), ts_key(-3, 9), ts_key(5, 0), ts_key(0, 4)];
        keys.sort();
        assert_eq!(
            keys,
            vec![ts_key(-3, 9), ts_key(0, 4), ts_key(5, 0), ts_key(5, 1)]
        );
        assert!(ts_after(5)[..] > ts_key(5, u64::MAX)[..]);
        assert!(ts_after(4)[..] <= ts_key(5, 0)[..]);
        assert_eq!(ts_key_seq(&ts_key(1, 42)), Some(42));
    }
}
