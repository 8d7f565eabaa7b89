//! Test-time augmentations for image records, as LiRA queries them (Carlini et al. 2022,
//! §5.2): the mirror image and small shifts with reflect padding. Each augmented query is
//! scored on its own and LiRA averages the scores (SPEC.md, attack 4).

use ndarray::{ArrayD, Axis};
use thiserror::Error;

/// Which augmented queries to make, besides the record itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Augmentations {
    /// Add the horizontally mirrored image.
    pub flip: bool,
    /// Add every shift by up to this many pixels in each direction (0, 1 or 2).
    pub shift: usize,
}

/// One query: the record, possibly mirrored, shifted by (dx, dy) pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Query {
    pub flip: bool,
    pub dx: isize,
    pub dy: isize,
}

impl Query {
    pub const IDENTITY: Query = Query {
        flip: false,
        dx: 0,
        dy: 0,
    };
}

impl std::fmt::Display for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flip = if self.flip { "flip" } else { "id" };
        write!(f, "{flip}{:+}{:+}", self.dx, self.dy)
    }
}

/// Augmentations that cannot apply to these records.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AugmentError {
    #[error(
        "augmentations (flip, shifts) apply to images, shape [channels, height, width] or [height, width]; these records have shape {shape:?}"
    )]
    NotImages { shape: Vec<usize> },
    #[error(
        "shifts of up to {shift} pixels need images at least {needed} pixels on each side; these are {height}×{width}"
    )]
    TooSmall {
        shift: usize,
        needed: usize,
        height: usize,
        width: usize,
    },
    #[error("a shift of {shift} pixels is more than the 2 LiRA uses; choose 0, 1 or 2")]
    ShiftTooLarge { shift: usize },
}

impl Augmentations {
    pub const MAX_SHIFT: usize = 2;

    pub fn is_none(&self) -> bool {
        !self.flip && self.shift == 0
    }

    /// Every query, the identity first.
    pub fn queries(&self) -> Vec<Query> {
        let s = self.shift as isize;
        let flips: &[bool] = if self.flip { &[false, true] } else { &[false] };
        let mut queries = vec![Query::IDENTITY];
        for &flip in flips {
            for dy in -s..=s {
                for dx in -s..=s {
                    let q = Query { flip, dx, dy };
                    if q != Query::IDENTITY {
                        queries.push(q);
                    }
                }
            }
        }
        queries
    }

    /// Checks records of `record_shape` are images these augmentations fit.
    pub fn check(&self, record_shape: &[usize]) -> Result<(), AugmentError> {
        if self.is_none() {
            return Ok(());
        }
        if self.shift > Self::MAX_SHIFT {
            return Err(AugmentError::ShiftTooLarge { shift: self.shift });
        }
        let (height, width) = match record_shape {
            [h, w] | [_, h, w] => (*h, *w),
            _ => {
                return Err(AugmentError::NotImages {
                    shape: record_shape.to_vec(),
                });
            }
        };
        let needed = 2 * self.shift + 1;
        if height < needed || width < needed || width < 2 {
            return Err(AugmentError::TooSmall {
                shift: self.shift,
                needed,
                height,
                width,
            });
        }
        Ok(())
    }
}

/// `i` reflected into `0..n` as numpy's `mode="reflect"` pads (edge not repeated).
fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    let i = if i < 0 { -i } else { i };
    (if i >= n { 2 * (n - 1) - i } else { i }) as usize
}

/// `features` `[N, ..., H, W]` as `query` sees them: mirrored along W, then shifted so that
/// output pixel (y, x) shows input pixel (y + dy, x + dx), reflected at the borders.
pub fn apply(features: &ArrayD<f32>, query: Query) -> ArrayD<f32> {
    let rank = features.ndim();
    let (h_axis, w_axis) = (Axis(rank - 2), Axis(rank - 1));
    let (height, width) = (features.len_of(h_axis), features.len_of(w_axis));
    let mut out = features.clone();
    for (mut dst, src) in out
        .lanes_mut(w_axis)
        .into_iter()
        .zip(features.lanes(w_axis))
    {
        if query.flip {
            for x in 0..width {
                dst[x] = src[width - 1 - x];
            }
        }
    }
    if query.dx == 0 && query.dy == 0 {
        return out;
    }
    let mirrored = out.clone();
    let rows = mirrored.len() / (height * width);
    let src = mirrored
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((rows, height, width))
        .expect("contiguous image planes");
    let mut planes = out
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((rows, height, width))
        .expect("contiguous image planes");
    for r in 0..rows {
        for y in 0..height {
            let sy = reflect(y as isize + query.dy, height);
            for x in 0..width {
                let sx = reflect(x as isize + query.dx, width);
                planes[[r, y, x]] = src[[r, sy, sx]];
            }
        }
    }
    planes
        .into_shape_with_order(features.raw_dim())
        .expect("same number of pixels")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{IxDyn, array};

    fn image() -> ArrayD<f32> {
        // One record, one channel, 3×3: value = 10·y + x.
        array![[[[0.0f32, 1.0, 2.0], [10.0, 11.0, 12.0], [20.0, 21.0, 22.0]]]].into_dyn()
    }

    fn plane(a: &ArrayD<f32>) -> Vec<f32> {
        a.iter().copied().collect()
    }

    #[test]
    fn flip_mirrors_each_row() {
        let q = Query {
            flip: true,
            dx: 0,
            dy: 0,
        };
        assert_eq!(
            plane(&apply(&image(), q)),
            vec![2.0, 1.0, 0.0, 12.0, 11.0, 10.0, 22.0, 21.0, 20.0]
        );
    }

    #[test]
    fn shifts_read_neighbours_and_reflect_at_the_border_like_numpy() {
        // np.pad(x, 1, mode="reflect")[1 + dy : 4 + dy, 1 + dx : 4 + dx] with dx = 1, dy = -1.
        let q = Query {
            flip: false,
            dx: 1,
            dy: -1,
        };
        assert_eq!(
            plane(&apply(&image(), q)),
            vec![11.0, 12.0, 11.0, 1.0, 2.0, 1.0, 11.0, 12.0, 11.0]
        );
    }

    #[test]
    fn query_sets_count_flips_times_shifts_with_the_identity_first() {
        let none = Augmentations::default();
        assert_eq!(none.queries(), vec![Query::IDENTITY]);
        let flip = Augmentations {
            flip: true,
            shift: 0,
        };
        assert_eq!(flip.queries().len(), 2);
        let both = Augmentations {
            flip: true,
            shift: 1,
        };
        let queries = both.queries();
        assert_eq!(queries.len(), 18);
        assert_eq!(queries[0], Query::IDENTITY);
        let mut unique = queries.clone();
        unique.dedup();
        assert_eq!(unique.len(), 18);
    }

    #[test]
    fn tabular_records_and_oversized_shifts_are_refused() {
        let flip = Augmentations {
            flip: true,
            shift: 0,
        };
        assert!(matches!(
            flip.check(&[64]),
            Err(AugmentError::NotImages { .. })
        ));
        assert_eq!(flip.check(&[1, 28, 28]), Ok(()));
        let big = Augmentations {
            flip: false,
            shift: 3,
        };
        assert!(big.check(&[1, 28, 28]).is_err());
        let features = ArrayD::<f32>::zeros(IxDyn(&[2, 1, 4, 4]));
        assert_eq!(apply(&features, Query::IDENTITY), features);
    }
}
