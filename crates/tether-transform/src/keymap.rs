//! [`KeyMap`]: the old -> new map for a referenced key whose transformer is not a
//! function of the key value alone (`generate_*`, a `js` function reading its row, ...;
//! see [`crate::Transformer::key_map_reason`]), so every child (including rows written
//! later by cycle UPDATEs) gets the same new value as its parent. Keys are the parent's
//! referenced key: one value, or several encoded by [`composite_key`].
//!
//! Up to `max_in_memory` entries live in a hash map. Past that, the map is spilled to
//! 64 partition files in a private temporary directory (removed on drop), chosen by a
//! hash of the old value; a lookup that misses memory loads one partition (kept as a
//! one-partition cache). Memory stays bounded by `max_in_memory` plus one partition
//! (about 1/64 of the spilled entries).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::PathBuf;

use siphasher::sip::SipHasher13;
use tether_schema::Value;

use crate::error::TransformError;

const PARTITIONS: usize = 64;

pub struct KeyMap {
    memory: HashMap<Value, Value>,
    max_in_memory: usize,
    spill: RefCell<Option<Spill>>,
    spilled: usize,
}

struct Spill {
    dir: tempfile::TempDir,
    cache: Option<(usize, HashMap<Value, Value>)>,
}

/// `UInt` values that fit `i64` are the same key as the `Int`.
fn normalize(v: &Value) -> Value {
    match v {
        Value::UInt(u) if *u <= i64::MAX as u64 => Value::Int(*u as i64),
        other => other.clone(),
    }
}

/// The map key of a composite key (several columns): the values, normalized like
/// single keys, encoded into one `Bytes` value. A single column is its own key.
pub fn composite_key(values: &[Value]) -> Value {
    if let [one] = values {
        return one.clone();
    }
    let mut out = Vec::new();
    for v in values {
        encode(&normalize(v), &mut out);
    }
    Value::Bytes(out)
}

fn partition(v: &Value) -> usize {
    let mut h = SipHasher13::new_with_keys(0x7465_7468_6572, 0x6b65_796d_6170);
    v.hash(&mut h);
    (h.finish() % PARTITIONS as u64) as usize
}

fn encode(v: &Value, out: &mut Vec<u8>) {
    let bytes = |out: &mut Vec<u8>, tag: u8, b: &[u8]| {
        out.push(tag);
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
    };
    match v {
        Value::Null => out.push(0),
        Value::Bool(b) => out.extend_from_slice(&[1, *b as u8]),
        Value::Int(i) => {
            out.push(2);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::UInt(u) => {
            out.push(3);
            out.extend_from_slice(&u.to_le_bytes());
        }
        Value::Float(f) => {
            out.push(4);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Text(s) => bytes(out, 5, s.as_bytes()),
        Value::Bytes(b) => bytes(out, 6, b),
        Value::RawText(b) => bytes(out, 7, b),
    }
}

fn decode(buf: &[u8], at: &mut usize) -> Option<Value> {
    let tag = *buf.get(*at)?;
    *at += 1;
    let mut take = |n: usize| -> Option<&[u8]> {
        let s = buf.get(*at..*at + n)?;
        *at += n;
        Some(s)
    };
    let word = |s: &[u8]| -> [u8; 8] {
        let mut w = [0u8; 8];
        w.copy_from_slice(s);
        w
    };
    Some(match tag {
        0 => Value::Null,
        1 => Value::Bool(take(1)?[0] != 0),
        2 => Value::Int(i64::from_le_bytes(word(take(8)?))),
        3 => Value::UInt(u64::from_le_bytes(word(take(8)?))),
        4 => Value::Float(f64::from_bits(u64::from_le_bytes(word(take(8)?)))),
        5..=7 => {
            let len = take(4)?;
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
            let body = take(len)?.to_vec();
            match tag {
                5 => Value::Text(String::from_utf8(body).ok()?),
                6 => Value::Bytes(body),
                _ => Value::RawText(body),
            }
        }
        _ => return None,
    })
}

impl Spill {
    fn path(&self, p: usize) -> PathBuf {
        self.dir.path().join(format!("part-{p:02}"))
    }

    fn load(&mut self, p: usize) -> Result<&HashMap<Value, Value>, TransformError> {
        if self.cache.as_ref().map(|(cp, _)| *cp) != Some(p) {
            let mut map = HashMap::new();
            let path = self.path(p);
            if path.exists() {
                let buf = fs::read(&path)?;
                let mut at = 0;
                while at < buf.len() {
                    let (Some(k), Some(v)) = (decode(&buf, &mut at), decode(&buf, &mut at)) else {
                        return Err(TransformError::Io(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("corrupt key map partition {}", path.display()),
                        )));
                    };
                    map.insert(k, v);
                }
            }
            self.cache = Some((p, map));
        }
        Ok(&self.cache.as_ref().expect("cache filled just above").1)
    }
}

impl KeyMap {
    /// A map keeping at most `max_in_memory` entries in memory before spilling.
    pub fn new(max_in_memory: usize) -> Self {
        KeyMap {
            memory: HashMap::new(),
            max_in_memory: max_in_memory.max(1),
            spill: RefCell::new(None),
            spilled: 0,
        }
    }

    /// Number of entries (in memory and spilled).
    pub fn len(&self) -> usize {
        self.memory.len() + self.spilled
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once entries have been written to disk.
    pub fn has_spilled(&self) -> bool {
        self.spilled > 0
    }

    /// The new value for `old`, if one was recorded.
    pub fn get(&self, old: &Value) -> Result<Option<Value>, TransformError> {
        let old = normalize(old);
        if let Some(v) = self.memory.get(&old) {
            return Ok(Some(v.clone()));
        }
        let mut spill = self.spill.borrow_mut();
        match spill.as_mut() {
            Some(s) => Ok(s.load(partition(&old))?.get(&old).cloned()),
            None => Ok(None),
        }
    }

    /// The new value for `old`, made by `make` and recorded the first time.
    pub fn get_or_insert_with(&mut self, old: &Value, make: impl FnOnce() -> Value) -> Result<Value, TransformError> {
        if let Some(v) = self.get(old)? {
            return Ok(v);
        }
        let new = make();
        self.memory.insert(normalize(old), new.clone());
        if self.memory.len() > self.max_in_memory {
            self.spill_memory()?;
        }
        Ok(new)
    }

    fn spill_memory(&mut self) -> Result<(), TransformError> {
        let mut spill = self.spill.borrow_mut();
        if spill.is_none() {
            *spill = Some(Spill {
                dir: tempfile::Builder::new().prefix("tether-keymap-").tempdir()?,
                cache: None,
            });
        }
        let s = spill.as_mut().expect("created just above");
        let mut parts: Vec<Vec<u8>> = vec![Vec::new(); PARTITIONS];
        for (k, v) in self.memory.drain() {
            let p = partition(&k);
            encode(&k, &mut parts[p]);
            encode(&v, &mut parts[p]);
            self.spilled += 1;
        }
        for (p, bytes) in parts.iter().enumerate() {
            if bytes.is_empty() {
                continue;
            }
            let mut f = OpenOptions::new().create(true).append(true).open(s.path(p))?;
            f.write_all(bytes)?;
        }
        s.cache = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_past_the_bound_and_still_answers() {
        let mut m = KeyMap::new(100);
        for i in 0..1000i64 {
            let v = m
                .get_or_insert_with(&Value::Int(i), || Value::Text(format!("n{i}")))
                .unwrap();
            assert_eq!(v, Value::Text(format!("n{i}")));
        }
        assert!(m.has_spilled());
        assert_eq!(m.len(), 1000);
        for i in (0..1000i64).rev() {
            assert_eq!(m.get(&Value::Int(i)).unwrap(), Some(Value::Text(format!("n{i}"))));
            // A second call never makes a new value.
            let v = m.get_or_insert_with(&Value::Int(i), || Value::Null).unwrap();
            assert_eq!(v, Value::Text(format!("n{i}")));
        }
        assert_eq!(m.get(&Value::UInt(5)).unwrap(), Some(Value::Text("n5".into())));
        assert_eq!(m.get(&Value::Int(5000)).unwrap(), None);
        assert_eq!(m.len(), 1000);
    }
}
