//! [`UniqueGuard`]: catches a duplicate among the transformed values of a unique key
//! (text keys through a non-injective transformer), so a collision fails loudly with
//! its values instead of being written, or silently dropped, as a duplicate.
//!
//! Memory: a hash set of 128-bit keyed digests of each key, about 32 bytes per row with
//! the set's overhead (10 million rows ≈ 320 MB). Keys containing NULL are skipped, as
//! SQL unique constraints allow repeated NULLs. Integer keys under `hash` (a keyed
//! permutation, [`crate::Transformer::injective`]) need no guard.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use tether_schema::Value;

use crate::error::TransformError;
use crate::keyed::{Key, Seed};

/// The digests are already uniform: use their low bits as the hash.
#[derive(Default)]
struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | *b as u64;
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

pub struct UniqueGuard {
    columns: Vec<String>,
    key: Key,
    seen: HashSet<u128, BuildHasherDefault<PassThroughHasher>>,
}

impl UniqueGuard {
    /// A guard for the unique key made of `columns` (named in error messages).
    pub fn new(columns: Vec<String>) -> Self {
        let salt = format!("{:?}", std::time::SystemTime::now());
        UniqueGuard {
            columns,
            key: Key::derive(&Seed::new(&salt), "unique guard"),
            seen: HashSet::default(),
        }
    }

    /// Records one transformed key; fails on the first value seen twice.
    pub fn check(&mut self, key: &[Value]) -> Result<(), TransformError> {
        if key.iter().any(Value::is_null) {
            return Ok(());
        }
        let mut digest = 0u128;
        for (i, v) in key.iter().enumerate() {
            digest = digest.rotate_left(17) ^ self.key.sub(i as u64).hash_value(v);
        }
        if self.seen.insert(digest) {
            Ok(())
        } else {
            Err(TransformError::Duplicate {
                columns: self.columns.join(", "),
                values: key.iter().map(Value::display).collect::<Vec<_>>().join(", "),
            })
        }
    }

    /// Keys recorded so far.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}
