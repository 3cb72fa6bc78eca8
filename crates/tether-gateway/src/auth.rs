//! `mysql_native_password`: the scramble a client sends is
//! `SHA1(password) XOR SHA1(salt + SHA1(SHA1(password)))`.

use std::hash::{BuildHasher, Hasher};

use sha1::{Digest, Sha1};

/// A fresh 20-byte salt of printable bytes (never NUL or `$`, which some clients
/// mishandle), from the process's random hasher keys and a counter.
pub fn salt() -> [u8; 20] {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut out = [0u8; 20];
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_usize(i);
        let bytes = h.finish().to_le_bytes();
        for (o, b) in chunk.iter_mut().zip(bytes) {
            // Map into 0x21..=0x7e, skipping `$`.
            let mut v = 0x21 + (b % 94);
            if v == b'$' {
                v += 1;
            }
            *o = v;
        }
    }
    out
}

/// True when `response` proves knowledge of `password` for `salt`.
pub fn verify(password: &str, salt: &[u8], response: &[u8]) -> bool {
    if password.is_empty() {
        return response.is_empty();
    }
    if response.len() != 20 {
        return false;
    }
    let stage1 = Sha1::digest(password.as_bytes());
    let stage2 = Sha1::digest(stage1);
    let mut h = Sha1::new();
    h.update(salt);
    h.update(stage2);
    let mix = h.finalize();
    let expected: Vec<u8> = stage1.iter().zip(mix.iter()).map(|(a, b)| a ^ b).collect();
    // Constant-time comparison.
    expected.iter().zip(response).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The scramble a client computes (used by tests).
pub fn scramble(password: &str, salt: &[u8]) -> Vec<u8> {
    let stage1 = Sha1::digest(password.as_bytes());
    let stage2 = Sha1::digest(stage1);
    let mut h = Sha1::new();
    h.update(salt);
    h.update(stage2);
    let mix = h.finalize();
    stage1.iter().zip(mix.iter()).map(|(a, b)| a ^ b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_password_round_trip() {
        let s = salt();
        assert!(s.iter().all(|b| *b > 0x20 && *b < 0x7f && *b != b'$'));
        assert_ne!(s, salt());
        assert!(verify("secret", &s, &scramble("secret", &s)));
        assert!(!verify("secret", &s, &scramble("wrong", &s)));
        assert!(!verify("secret", &s, b""));
        assert!(verify("", &s, b""));
        assert!(!verify("", &s, b"x"));
    }
}
