//! Mutations of seed inputs for the test suite's run of the targets: the
//! byte-level edits libFuzzer also makes (flip, overwrite, insert, erase,
//! duplicate, splice), without its coverage feedback. Deterministic for a
//! given seed, so that a failure found with a random seed is replayed with
//! that seed.

/// A small, fast pseudo-random generator (xorshift64*); not for secrets.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed` (any value; zero is moved off zero).
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Bytes the parsers treat specially: quotes, escapes, brackets,
/// separators, path pieces, line ends and the edges of a byte.
const INTERESTING: &[u8] = b"\"\\{}[]:,=./\n\r\t 0-*#'\x00\x7f\xff\xc3\xa9";

/// Tokens that a byte-at-a-time edit would rarely assemble.
const TOKENS: &[&[u8]] = &[
    b"..",
    b"../",
    b"//",
    b"/proc/self/root",
    b"\\u0000",
    b"\\ud800",
    b"null",
    b"true",
    b"1e999",
    b"-0",
    b"[[",
    b"]]",
    b"data: ",
    b"\n\n",
    b"[DONE]",
    b"\"\"\"",
    b"{}",
    b"[]",
];

/// `seed` with one to four edits, splicing from `other` (another seed of the
/// same target) now and then; never longer than `max_len`.
pub fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8], max_len: usize) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(4) {
        edit(rng, &mut out, other);
    }
    out.truncate(max_len);
    out
}

fn edit(rng: &mut Rng, out: &mut Vec<u8>, other: &[u8]) {
    let len = out.len();
    match rng.below(8) {
        0 if len > 0 => {
            let at = rng.below(len);
            out[at] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let at = rng.below(len);
            out[at] = INTERESTING[rng.below(INTERESTING.len())];
        }
        2 => {
            let at = rng.below(len + 1);
            out.insert(at, (rng.next_u64() & 0xff) as u8);
        }
        3 if len > 0 => {
            let from = rng.below(len);
            let to = from + 1 + rng.below((len - from).min(16));
            out.drain(from..to);
        }
        4 if len > 0 => {
            let from = rng.below(len);
            let to = from + 1 + rng.below((len - from).min(32));
            let piece = out[from..to].to_vec();
            let at = rng.below(len + 1);
            out.splice(at..at, piece);
        }
        5 => {
            let token = TOKENS[rng.below(TOKENS.len())];
            let at = rng.below(len + 1);
            out.splice(at..at, token.iter().copied());
        }
        6 if !other.is_empty() => {
            let keep = rng.below(len + 1);
            let from = rng.below(other.len());
            out.truncate(keep);
            out.extend_from_slice(&other[from..]);
        }
        _ => {
            let at = rng.below(len + 1);
            out.insert(at, INTERESTING[rng.below(INTERESTING.len())]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutations() {
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..50)
                .map(|_| mutate(&mut rng, b"{\"a\": [1, 2]}", b"data: x\n\n", 64))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn mutations_stay_within_the_length_and_change_the_input() {
        let mut rng = Rng::new(42);
        let seed = b"{\"tool\": \"file\"}";
        let mutated: Vec<Vec<u8>> = (0..1000).map(|_| mutate(&mut rng, seed, b"", 20)).collect();
        assert!(mutated.iter().all(|m| m.len() <= 20));
        let changed = mutated.iter().filter(|m| m.as_slice() != &seed[..]).count();
        assert!(changed > 900, "only {changed} of 1000 differ from the seed");
    }
}
