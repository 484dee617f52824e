//! Key encodings of the keyspaces.
//!
//! - `events`: `seq` (u64 big-endian) → the event's JSON.
//! - `index`: empty values; keys `a|agent|0|seq`, `t|topic|0|seq`,
//!   `k|kind|0|seq`, `s|ts_micros|seq` (all integers big-endian, `ts` with
//!   its sign bit flipped so that byte order is time order).
//! - `messages`: `agent|0|seq` → the `agent.message` event's JSON (a
//!   covering index, so that rebuilding a history reads one range).
//! - `meta`: `last_seq`, `bytes`, `spool:<file>` → u64.
//! - `memory`: `agent|0|key` → JSON value.
//!
//! A string field is followed by a 0 byte and a fixed 8-byte seq, so a key
//! is decoded from its end; an exact match checks the length, so `a` never
//! matches entries of `a\0b`.

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

/// `tag|s|0` — the prefix of every entry of `s`.
pub(crate) fn str_prefix(tag: u8, s: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(s.len() + 10);
    k.push(tag);
    k.extend_from_slice(s.as_bytes());
    k.push(0);
    k
}

/// `tag|s|0|seq`.
pub(crate) fn str_key(tag: u8, s: &str, seq: u64) -> Vec<u8> {
    let mut k = str_prefix(tag, s);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The seq of a `tag|s|0|seq` key whose string is exactly `s`.
pub(crate) fn str_key_seq(key: &[u8], s_len: usize) -> Option<u64> {
    if key.len() != s_len + 10 {
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

/// `agent|0|seq` (messages) or `agent|0|key` (memory).
pub(crate) fn owned_key(agent: &str, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(agent.len() + 1 + rest.len());
    k.extend_from_slice(agent.as_bytes());
    k.push(0);
    k.extend_from_slice(rest);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_keys_round_trip_and_do_not_alias() {
        let k = str_key(AGENT, "a", 7);
        assert_eq!(str_key_seq(&k, 1), Some(7));
        assert_eq!(split_str_key(&k), Some((&b"a"[..], 7)));
        let other = str_key(AGENT, "a\0b", 9);
        assert!(other.starts_with(&str_prefix(AGENT, "a")));
        assert_eq!(str_key_seq(&other, 1), None);
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
