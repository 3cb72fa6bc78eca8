//! A keyed permutation of an integer range: a balanced Feistel network over the
//! smallest even number of bits covering the range, with cycle walking to stay inside.
//!
//! [`Permutation::apply`] is a bijection of `[min, max]` onto itself by construction;
//! it is also a derangement (no value maps to itself when the range has two or more
//! values): the map is `P⁻¹(P(x) + 1 mod n)`, a conjugate of a rotation. When the range
//! contains zero, positive values map to positive values, negative values to negative
//! ones (two independent permutations) and zero to itself, so ids keep their sign and
//! no positive id becomes 0 (which MySQL's AUTO_INCREMENT would replace by a new id).

use crate::keyed::Key;

const ROUNDS: u64 = 6;

/// A keyed bijection of `[0, last]` (the building block).
#[derive(Debug, Clone)]
struct Core {
    last: u64,
    half_bits: u32,
    mask: u64,
    key: Key,
}

impl Core {
    fn new(last: u64, key: Key) -> Core {
        let bits = 64 - last.leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        let mask = if half_bits >= 64 {
            u64::MAX
        } else {
            (1u64 << half_bits) - 1
        };
        Core {
            last,
            half_bits,
            mask,
            key,
        }
    }

    #[inline]
    fn round(&self, i: u64, r: u64) -> u64 {
        self.key.hash_words(i, r) & self.mask
    }

    #[inline]
    fn feistel(&self, v: u64) -> u64 {
        let (mut l, mut r) = (v >> self.half_bits, v & self.mask);
        for i in 0..ROUNDS {
            let next = l ^ self.round(i, r);
            l = r;
            r = next;
        }
        (l << self.half_bits) | r
    }

    #[inline]
    fn feistel_inverse(&self, v: u64) -> u64 {
        let (mut l, mut r) = (v >> self.half_bits, v & self.mask);
        for i in (0..ROUNDS).rev() {
            let prev = r ^ self.round(i, l);
            r = l;
            l = prev;
        }
        (l << self.half_bits) | r
    }

    /// Cycle walking: apply the network until the value falls back into `[0, last]`.
    /// Terminates because the network is a permutation of a superset (at most 4x larger).
    #[inline]
    fn forward(&self, x: u64) -> u64 {
        let mut y = self.feistel(x);
        while y > self.last {
            y = self.feistel(y);
        }
        y
    }

    #[inline]
    fn backward(&self, x: u64) -> u64 {
        let mut y = self.feistel_inverse(x);
        while y > self.last {
            y = self.feistel_inverse(y);
        }
        y
    }

    /// The derangement `P⁻¹(P(x) + 1 mod n)`.
    #[inline]
    fn derange(&self, x: u64) -> u64 {
        if self.last == 0 {
            return x;
        }
        let p = self.forward(x);
        let next = if p == self.last { 0 } else { p + 1 };
        self.backward(next)
    }
}

/// A keyed bijection of the integer range `[min, max]`, sign-preserving (and fixing 0)
/// when the range contains zero.
#[derive(Debug, Clone)]
pub struct Permutation {
    min: i128,
    max: i128,
    positive: Option<Core>,
    negative: Option<Core>,
    whole: Option<Core>,
}

impl Permutation {
    /// `min <= max` and both fit in `i64` or `u64`.
    pub fn new(min: i128, max: i128, key: Key) -> Permutation {
        let (mut positive, mut negative, mut whole) = (None, None, None);
        if min <= 0 && max >= 0 {
            if max >= 1 {
                positive = Some(Core::new((max - 1) as u64, key.sub(1)));
            }
            if min <= -1 {
                negative = Some(Core::new((-1 - min) as u64, key.sub(2)));
            }
        } else {
            whole = Some(Core::new((max - min) as u64, key.sub(0)));
        }
        Permutation {
            min,
            max,
            positive,
            negative,
            whole,
        }
    }

    pub fn range(&self) -> (i128, i128) {
        (self.min, self.max)
    }

    /// The image of `x`, or `None` when `x` is outside the range.
    #[inline]
    pub fn apply(&self, x: i128) -> Option<i128> {
        if x < self.min || x > self.max {
            return None;
        }
        if let Some(core) = &self.whole {
            return Some(self.min + core.derange((x - self.min) as u64) as i128);
        }
        match (x.signum(), &self.positive, &self.negative) {
            (0, _, _) => Some(0),
            (1, Some(core), _) => Some(1 + core.derange((x - 1) as u64) as i128),
            (-1, _, Some(core)) => Some(-1 - core.derange((-1 - x) as u64) as i128),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyed::Seed;
    use std::collections::HashSet;

    fn key(s: &str) -> Key {
        Key::derive(&Seed::new(s), "test")
    }

    #[test]
    fn small_ranges_are_bijections_without_fixed_points() {
        for (min, max) in [
            (0, 0),
            (0, 1),
            (1, 2),
            (0, 2),
            (5, 17),
            (-7, 9),
            (-300, -200),
            (0, 1000),
            (1, 4096),
        ] {
            let p = Permutation::new(min, max, key("a"));
            let image: HashSet<i128> = (min..=max).map(|x| p.apply(x).unwrap()).collect();
            assert_eq!(image.len() as i128, max - min + 1, "[{min}, {max}]");
            assert!(image.iter().all(|y| (min..=max).contains(y)));
            // Fixed points only where a part has one value: 0 itself, or a one-value side.
            let spans_zero = min <= 0 && max >= 0;
            for x in min..=max {
                let part = if !spans_zero {
                    max - min + 1
                } else if x > 0 {
                    max
                } else if x < 0 {
                    -min
                } else {
                    1
                };
                assert!(p.apply(x) != Some(x) || part == 1, "fixed point {x} in [{min}, {max}]");
            }
            assert_eq!(p.apply(max + 1), None);
        }
    }

    #[test]
    fn sign_is_kept_when_the_range_spans_zero() {
        let p = Permutation::new(i32::MIN as i128, i32::MAX as i128, key("b"));
        for x in [-5i128, -1, 0, 1, 2, 1000, i32::MAX as i128, i32::MIN as i128] {
            let y = p.apply(x).unwrap();
            assert_eq!(x.signum(), y.signum(), "{x} -> {y}");
        }
    }

    #[test]
    fn full_u64_and_i64_ranges_work() {
        let p = Permutation::new(0, u64::MAX as i128, key("c"));
        assert!(p.apply(u64::MAX as i128).unwrap() <= u64::MAX as i128);
        let q = Permutation::new(i64::MIN as i128, i64::MAX as i128, key("c"));
        assert!(q.apply(i64::MIN as i128).unwrap() < 0);
    }
}
