//! The membership encoding of Chen & Pattabiraman's code-poisoning attack (NDSS 2025; SPEC.md
//! attack 7), bit for bit as their code derives it with numpy: the MD5 digest of a record's
//! float32 bytes, read as four little-endian u32, seeds a legacy `RandomState` (MT19937
//! `init_by_array`); the encoded query is `normal(0, 0.1, size=shape)` drawn with numpy's
//! polar Gaussian (the second value of each pair cached), in C order; the secret label is
//! `randint(0, C)` from a fresh state. Matching numpy exactly lets mialab audit models poisoned
//! by the paper's own code. MD5 comes from `md-5`, MT19937 from `rand_mt`.

use md5::{Digest, Md5};
use rand_mt::Mt;

/// Standard deviation of the encoded query in the paper's code.
pub const ENCODING_STD: f64 = 0.1;

/// numpy's legacy `RandomState` over MT19937: the draws the encoding needs.
pub struct NumpyRandomState {
    mt: Mt,
    cached_gauss: Option<f64>,
}

impl NumpyRandomState {
    /// `np.random.RandomState(key)` for an array seed (`init_by_array`).
    pub fn from_key(key: &[u32]) -> NumpyRandomState {
        NumpyRandomState {
            mt: Mt::new_with_key(key.iter().copied()),
            cached_gauss: None,
        }
    }

    /// `random_sample()`: 53 random bits from two 32-bit draws.
    pub fn random_double(&mut self) -> f64 {
        let a = self.mt.next_u32() >> 5;
        let b = self.mt.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0
    }

    /// numpy's legacy `gauss`: the polar method, returning the cached second value first.
    pub fn gauss(&mut self) -> f64 {
        if let Some(g) = self.cached_gauss.take() {
            return g;
        }
        let (x1, x2, r2) = loop {
            let x1 = 2.0 * self.random_double() - 1.0;
            let x2 = 2.0 * self.random_double() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                break (x1, x2, r2);
            }
        };
        let f = (-2.0 * r2.ln() / r2).sqrt();
        self.cached_gauss = Some(f * x1);
        f * x2
    }

    /// `normal(loc, scale)`.
    pub fn normal(&mut self, loc: f64, scale: f64) -> f64 {
        loc + scale * self.gauss()
    }

    /// `randint(low, high)` (legacy, masked rejection sampling of 32-bit draws).
    pub fn randint(&mut self, low: u32, high: u32) -> u32 {
        assert!(high > low, "randint needs high > low");
        let range = high - low - 1;
        if range == 0 {
            return low;
        }
        let mask = u32::MAX >> range.leading_zeros();
        loop {
            let value = self.mt.next_u32() & mask;
            if value <= range {
                return low + value;
            }
        }
    }
}

/// The seed key of a record: its float32 bytes' MD5 as four little-endian u32.
pub fn record_key(record: &[f32]) -> [u32; 4] {
    let bytes: Vec<u8> = record.iter().flat_map(|v| v.to_le_bytes()).collect();
    let digest = Md5::digest(&bytes);
    std::array::from_fn(|i| {
        u32::from_le_bytes(digest[4 * i..4 * i + 4].try_into().expect("4 bytes"))
    })
}

/// A record's encoded query and secret label, from one seeding of the state (the secret
/// label's "fresh state" is a copy of it taken before any draw).
pub struct Encoding {
    /// As many values as the record, C order, float64 as numpy draws them.
    pub query: Vec<f64>,
    pub secret_label: usize,
}

/// The encoding of a record whose secret label is among `classes` classes.
pub fn encode(record: &[f32], classes: usize) -> Encoding {
    let mut state = NumpyRandomState::from_key(&record_key(record));
    let mut fresh = NumpyRandomState {
        mt: state.mt.clone(),
        cached_gauss: None,
    };
    let classes = u32::try_from(classes).unwrap_or(u32::MAX).max(1);
    Encoding {
        secret_label: fresh.randint(0, classes) as usize,
        query: (0..record.len())
            .map(|_| state.normal(0.0, ENCODING_STD))
            .collect(),
    }
}

/// The encoded query of a record (as many values as the record, C order), float64 as numpy
/// draws them.
pub fn encoded_query(record: &[f32]) -> Vec<f64> {
    encode(record, 1).query
}

/// The secret label of a record among `classes` classes.
pub fn secret_label(record: &[f32], classes: usize) -> usize {
    let classes = u32::try_from(classes).unwrap_or(u32::MAX).max(1);
    NumpyRandomState::from_key(&record_key(record)).randint(0, classes) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_mt19937_init_by_array_sequence() {
        // mt19937ar.c's own test: init_by_array({0x123, 0x234, 0x345, 0x456}) starts
        // 1067595299 955945823 477289528 4107218783 4228976476.
        let mut state = NumpyRandomState::from_key(&[0x123, 0x234, 0x345, 0x456]);
        let first: Vec<u32> = (0..5).map(|_| state.mt.next_u32()).collect();
        assert_eq!(
            first,
            [1067595299, 955945823, 477289528, 4107218783, 4228976476]
        );
    }

    #[test]
    fn randint_of_one_class_draws_nothing() {
        let mut a = NumpyRandomState::from_key(&[1]);
        assert_eq!(a.randint(3, 4), 3);
        let mut b = NumpyRandomState::from_key(&[1]);
        assert_eq!(a.random_double(), b.random_double());
    }
}
