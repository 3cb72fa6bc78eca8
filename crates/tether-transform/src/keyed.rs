//! Keyed hashing: the job's secret [`Seed`], per-transformer [`Key`]s derived from it,
//! and [`Rng`], a small deterministic stream seeded from a keyed hash of the input.
//!
//! The seed goes through BLAKE3 key derivation; per-transformer keys are BLAKE3 keyed
//! hashes of (seed, transformer description); values are hashed with SipHash-1-3 (128
//! bit) under that key, which is fast on short inputs. Nothing here is unkeyed: without
//! the seed, a dictionary of inputs cannot be matched to outputs.

use siphasher::sip128::{Hasher128, SipHasher13};
use std::cell::Cell;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use tether_schema::Value;

/// The job's secret, and a number drawn afresh when it is made: one run of a job makes
/// one `Seed` (clones share it), so keys derived with [`Key::derive_for_run`] are the
/// same throughout a run and differ between runs. Never printed: `Debug` shows
/// `Seed(***)`.
#[derive(Clone)]
pub struct Seed {
    secret: [u8; 32],
    run: u128,
}

impl Seed {
    pub fn new(secret: &str) -> Seed {
        let mut fresh = Rng::fresh();
        Seed {
            secret: blake3::derive_key("tether 2026 transformer seed v1", secret.as_bytes()),
            run: ((fresh.next_u64() as u128) << 64) | fresh.next_u64() as u128,
        }
    }

    /// The seed held by environment variable `var`, if it is set and not empty.
    pub fn from_env(var: &str) -> Option<Seed> {
        std::env::var(var).ok().filter(|s| !s.is_empty()).map(|s| Seed::new(&s))
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(***)")
    }
}

/// A 128-bit SipHash key belonging to one transformer (or one part of it).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key {
    k0: u64,
    k1: u64,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(***)")
    }
}

impl Key {
    /// The key of the transformer described by `context` (its canonical description).
    pub fn derive(seed: &Seed, context: &str) -> Key {
        let hash = blake3::keyed_hash(&seed.secret, context.as_bytes());
        let b = hash.as_bytes();
        Key {
            k0: u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            k1: u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
        }
    }

    /// The key of a `generate_*` transformer whose outputs are a keyed function of the
    /// input (the integer permutation, the order-keeping date shift): keyed by the seed
    /// and the run's fresh number, so a run keeps the function's properties (a
    /// permutation, monotone) and the next run draws another function.
    pub fn derive_for_run(seed: &Seed, context: &str) -> Key {
        let base = Key::derive(seed, context);
        let mut bytes = [0u8; 20];
        bytes[..4].copy_from_slice(b"run ");
        bytes[4..].copy_from_slice(&seed.run.to_le_bytes());
        let h = base.hash128(&bytes);
        Key {
            k0: h as u64,
            k1: (h >> 64) as u64,
        }
    }

    /// A key derived from this one for a numbered purpose (Feistel rounds, sign halves).
    pub fn sub(&self, label: u64) -> Key {
        let h = self.hash128(&label.to_le_bytes());
        Key {
            k0: h as u64,
            k1: (h >> 64) as u64,
        }
    }

    fn hasher(&self) -> SipHasher13 {
        SipHasher13::new_with_keys(self.k0, self.k1)
    }

    pub fn hash128(&self, bytes: &[u8]) -> u128 {
        let mut h = self.hasher();
        h.write(bytes);
        h.finish128().as_u128()
    }

    /// A 64-bit keyed hash of two words (the Feistel round function).
    #[inline]
    pub fn hash_words(&self, a: u64, b: u64) -> u64 {
        let mut h = self.hasher();
        let mut buf = [0u8; 16];
        buf[..8].copy_from_slice(&a.to_le_bytes());
        buf[8..].copy_from_slice(&b.to_le_bytes());
        h.write(&buf);
        h.finish()
    }

    /// The keyed hash of a value in a canonical encoding: `Int(5)` and `UInt(5)` hash
    /// alike, so a key read as signed from one engine and unsigned from another agrees.
    pub fn hash_value(&self, value: &Value) -> u128 {
        let mut h = self.hasher();
        match value {
            Value::Null => h.write(b"n"),
            Value::Bool(b) => h.write(&[b'b', *b as u8]),
            Value::Int(i) => {
                h.write(b"i");
                h.write(&(*i as i128).to_le_bytes());
            }
            Value::UInt(u) => {
                h.write(b"i");
                h.write(&(*u as i128).to_le_bytes());
            }
            Value::Float(f) => {
                h.write(b"f");
                h.write(&f.to_bits().to_le_bytes());
            }
            Value::Text(t) => {
                h.write(b"s");
                h.write(t.as_bytes());
            }
            // Text as its bytes, as `Text` is (they are never UTF-8, so never one's).
            Value::RawText(b) => {
                h.write(b"s");
                h.write(b);
            }
            Value::Bytes(b) => {
                h.write(b"x");
                h.write(b);
            }
        }
        h.finish128().as_u128()
    }

    /// A stream of pseudo-random numbers determined by this key and `value`.
    pub fn rng_for(&self, value: &Value) -> Rng {
        Rng::from_u128(self.hash_value(value))
    }
}

/// A small deterministic generator (SplitMix64 over a 128-bit start state).
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
    mix: u64,
}

thread_local! {
    static FRESH: Cell<u64> = Cell::new({
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
        h.finish()
    });
}

impl Rng {
    pub fn from_u128(seed: u128) -> Rng {
        Rng {
            state: seed as u64,
            mix: ((seed >> 64) as u64) | 1,
        }
    }

    /// A generator seeded from the process's randomness (for `generate_*` kinds).
    pub fn fresh() -> Rng {
        let seed = FRESH.with(|c| {
            let a = splitmix(c.get());
            let b = splitmix(a);
            c.set(b);
            ((a as u128) << 64) | b as u128
        });
        Rng::from_u128(seed)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state ^ self.mix;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, n)` (n > 0), by multiply-shift.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// A number in `[lo, hi]`.
    pub fn between(&mut self, lo: i128, hi: i128) -> i128 {
        let span = (hi - lo) as u128 + 1;
        if span > u64::MAX as u128 {
            let wide = ((self.next_u64() as u128) << 64) | self.next_u64() as u128;
            return lo + (wide % span) as i128;
        }
        lo + self.below(span as u64) as i128
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub fn word(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len() as u64) as usize]
    }

    pub fn digit(&mut self) -> char {
        (b'0' + self.below(10) as u8) as char
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_debug_hides_the_secret() {
        assert_eq!(format!("{:?}", Seed::new("hunter2")), "Seed(***)");
    }

    #[test]
    fn signed_and_unsigned_ints_hash_alike_and_keys_depend_on_seed_and_context() {
        let k = Key::derive(&Seed::new("s"), "hash");
        assert_eq!(k.hash_value(&Value::Int(5)), k.hash_value(&Value::UInt(5)));
        assert_ne!(k.hash_value(&Value::Int(5)), k.hash_value(&Value::Text("5".into())));
        assert_ne!(k, Key::derive(&Seed::new("t"), "hash"));
        assert_ne!(k, Key::derive(&Seed::new("s"), "email"));
    }
}
