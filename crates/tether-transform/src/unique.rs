//! [`UniqueGuard`]: catches a duplicate among the transformed values of a unique key
//! (text keys through a non-injective transformer), so a collision fails loudly with
//! its values instead of being written, or silently dropped, as a duplicate.
//!
//! Memory: a hash set of 128-bit keyed digests of each key, about 32 bytes per row with
//! the set's overhead (10 million rows ≈ 320 MB). Keys containing NULL are skipped, as
//! SQL unique constraints allow repeated NULLs. Integer keys under `hash` (a keyed
//! permutation, [`crate::Transformer::injective`]) need no guard.
//!
//! A column the destination compares loosely (MariaDB's `_ci`/`_ai` collations, a
//! PostgreSQL `citext`) is compared here the same way ([`UniqueGuard::folding`]): case,
//! the accents of Latin letters and trailing spaces ignored. `ARjY` and `arJy` are two
//! values to Tether but one key to a `utf8mb4_general_ci` column, where
//! `on_conflict = "skip"` would drop one row and re-attach its children to the other.

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
    /// Per key column: compared as the destination compares it, [`fold`]ed.
    fold: Vec<bool>,
    key: Key,
    seen: HashSet<u128, BuildHasherDefault<PassThroughHasher>>,
}

impl UniqueGuard {
    /// A guard for the unique key made of `columns` (named in error messages).
    pub fn new(columns: Vec<String>) -> Self {
        let salt = format!("{:?}", std::time::SystemTime::now());
        UniqueGuard {
            fold: vec![false; columns.len()],
            columns,
            key: Key::derive(&Seed::new(&salt), "unique guard"),
            seen: HashSet::default(),
        }
    }

    /// The same guard, comparing the text of the key columns marked in `fold` the way a
    /// case- and accent-insensitive, PAD SPACE collation does (see [`fold`]).
    pub fn folding(mut self, fold: Vec<bool>) -> Self {
        self.fold = fold;
        self.fold.resize(self.columns.len(), false);
        self
    }

    /// Records one transformed key; fails on the first value seen twice.
    pub fn check(&mut self, key: &[Value]) -> Result<(), TransformError> {
        if key.iter().any(Value::is_null) {
            return Ok(());
        }
        let mut folded_any = false;
        let compared: std::borrow::Cow<[Value]> = if !self.fold.contains(&true) {
            std::borrow::Cow::Borrowed(key)
        } else {
            key.iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Text(t) if self.fold.get(i).copied().unwrap_or(false) => {
                        let f = fold(t);
                        folded_any |= f != *t;
                        Value::Text(f)
                    }
                    v => v.clone(),
                })
                .collect()
        };
        let mut digest = 0u128;
        for (i, v) in compared.iter().enumerate() {
            digest = digest.rotate_left(17) ^ self.key.sub(i as u64).hash_value(v);
        }
        if self.seen.insert(digest) {
            return Ok(());
        }
        let shown = |vs: &[Value]| vs.iter().map(Value::display).collect::<Vec<_>>().join(", ");
        let columns = self.columns.join(", ");
        Err(if folded_any {
            TransformError::DuplicateFolded {
                columns,
                values: shown(key),
                folded: shown(&compared),
            }
        } else {
            TransformError::Duplicate {
                columns,
                values: shown(key),
            }
        })
    }

    /// Keys recorded so far.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// Text as a case- and accent-insensitive PAD SPACE collation compares it: lower case,
/// the accents of Latin-1 letters dropped, trailing spaces cut. Coarser than a
/// collation where they differ (`ß`, ligatures): a coarser fold may refuse a pair the
/// destination would keep apart, never let through a pair it merges.
pub fn fold(text: &str) -> String {
    text.trim_end_matches(' ')
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à'..='å' => 'a',
            'ç' => 'c',
            'è'..='ë' => 'e',
            'ì'..='ï' => 'i',
            'ñ' => 'n',
            'ò'..='ö' | 'ø' => 'o',
            'ù'..='ü' => 'u',
            'ý' | 'ÿ' => 'y',
            c => c,
        })
        .collect()
}
