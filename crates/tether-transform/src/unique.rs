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
//! [`fold`] knows only the Latin-1 accents; a MariaDB/MySQL collation merges many more
//! (`č`/`c`, `ß`/`s`, `ı`/`i`), so for such a column the guard compares the text as the
//! destination server itself weighs each character ([`Weights`], read from it by the run).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

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
    /// Per key column: compared by a destination collation's weights, where known.
    weights: Vec<Option<Arc<Weights>>>,
    key: Key,
    seen: HashSet<u128, BuildHasherDefault<PassThroughHasher>>,
}

impl UniqueGuard {
    /// A guard for the unique key made of `columns` (named in error messages).
    pub fn new(columns: Vec<String>) -> Self {
        let salt = format!("{:?}", std::time::SystemTime::now());
        UniqueGuard {
            fold: vec![false; columns.len()],
            weights: vec![None; columns.len()],
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

    /// The same guard, comparing the text of the key columns given `Weights` as that
    /// collation does (one guard per destination: each compares with its own).
    pub fn collating(mut self, weights: Vec<Option<Arc<Weights>>>) -> Self {
        self.weights = weights;
        self.weights.resize(self.columns.len(), None);
        self
    }

    /// Records one transformed key; fails on the first value seen twice.
    pub fn check(&mut self, key: &[Value]) -> Result<(), TransformError> {
        if key.iter().any(Value::is_null) {
            return Ok(());
        }
        let mut folded_any = false;
        let mut collated: Option<&Weights> = None;
        let compared: std::borrow::Cow<[Value]> =
            if !self.fold.contains(&true) && self.weights.iter().all(Option::is_none) {
                std::borrow::Cow::Borrowed(key)
            } else {
                key.iter()
                    .enumerate()
                    .map(|(i, v)| match v {
                        Value::Text(t) if self.weights.get(i).is_some_and(Option::is_some) => {
                            let w = self.weights[i].as_deref().expect("checked above");
                            collated = Some(w);
                            Value::Bytes(w.key(t))
                        }
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
        Err(if let Some(w) = collated {
            TransformError::DuplicateCollated {
                columns,
                values: shown(key),
                collation: w.collation.clone(),
                destination: w.destination.clone(),
            }
        } else if folded_any {
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

/// How a destination's collation weighs each character: the `WEIGHT_STRING` the server
/// gives every character of the Basic Multilingual Plane, read from it by the run. Two
/// texts are one key to it when the concatenated weights of their characters are equal
/// (trailing spaces cut: PAD SPACE; coarser for a NO PAD collation, never finer).
/// Characters above U+FFFF are weighed alike when the collation gives the three it was
/// asked about one weight (`utf8mb4_general_ci`), else by their code point. A
/// language's contraction (`ch` as one letter in `utf8mb4_czech_ci`) is not modelled.
#[derive(Debug)]
pub struct Weights {
    /// The collation's name, for messages.
    pub collation: String,
    /// Where it is (`destination #1 mysql://...: column t.c`), for messages.
    pub destination: String,
    chars: HashMap<char, Vec<u8>>,
    /// The one weight of every character above U+FFFF, if the collation has one.
    supplementary: Option<Vec<u8>>,
}

impl Weights {
    pub fn new(
        collation: String,
        destination: String,
        chars: HashMap<char, Vec<u8>>,
        supplementary: Option<Vec<u8>>,
    ) -> Self {
        Weights {
            collation,
            destination,
            chars,
            supplementary,
        }
    }

    /// The bytes two texts share exactly when the collation compares them equal. Each
    /// character's weight is preceded by nothing: the concatenation is what the server
    /// compares, so `ß` weighed as `ss` equals `ss`.
    pub fn key(&self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.trim_end_matches(' ').chars() {
            match (self.chars.get(&c), &self.supplementary) {
                (Some(w), _) => out.extend_from_slice(w),
                (None, Some(w)) if c as u32 > 0xFFFF => out.extend_from_slice(w),
                // Above U+FFFF with weights of their own, or unknown to the server: the
                // character itself, marked so it cannot equal a run of weights.
                (None, _) => {
                    out.push(0xFF);
                    out.extend_from_slice(&(c as u32).to_be_bytes());
                }
            }
        }
        out
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
