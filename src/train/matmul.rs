//! The matrix products training needs, forward and backward (`X·W`, `Xᵀ·dY`, `dY·Wᵀ`), on
//! `rten-gemm`'s packed SIMD kernel (the one the CPU inference kernels use), with either
//! operand read transposed in place: no transposed copy is ever made.

use rten_gemm::{GemmExecutor, GemmInputA, GemmInputB, GemmOptions};
use rten_tensor::NdTensorView;

thread_local! {
    /// Per thread: the executor is not `Sync`.
    static GEMM: GemmExecutor<f32> = GemmExecutor::default();
}

/// A row-major matrix, read as stored or transposed.
#[derive(Clone, Copy)]
pub(super) struct Mat<'a> {
    pub data: &'a [f32],
    /// Rows and columns as stored.
    pub rows: usize,
    pub cols: usize,
    pub transposed: bool,
}

impl<'a> Mat<'a> {
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Mat<'a> {
        Mat {
            data,
            rows,
            cols,
            transposed: false,
        }
    }

    pub fn t(self) -> Mat<'a> {
        Mat {
            transposed: !self.transposed,
            ..self
        }
    }

    /// Rows and columns as read.
    fn shape(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    fn view(&self) -> NdTensorView<'a, f32, 2> {
        let stored = NdTensorView::from_data([self.rows, self.cols], self.data);
        if self.transposed {
            stored.transposed()
        } else {
            stored
        }
    }
}

/// `out = a·b` (or `out += a·b` when `accumulate`), `out` row-major `[a rows, b cols]`.
pub(super) fn matmul(out: &mut [f32], a: Mat<'_>, b: Mat<'_>, accumulate: bool) {
    let ((m, k), (k2, n)) = (a.shape(), b.shape());
    debug_assert_eq!(k, k2, "inner dimensions");
    debug_assert_eq!(out.len(), m * n, "output size");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            out.fill(0.0);
        }
        return;
    }
    GEMM.with(|gemm| {
        gemm.gemm(
            out,
            GemmInputA::Unpacked(a.view()),
            GemmInputB::Unpacked(b.view()),
            GemmOptions {
                beta: if accumulate { 1.0 } else { 0.0 },
                ..Default::default()
            },
        )
        .expect("shapes are checked by the callers");
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        out
    }

    fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        (0..cols * rows)
            .map(|i| x[(i % rows) * cols + i / rows])
            .collect()
    }

    #[test]
    fn products_with_either_operand_transposed_match_the_textbook_sum() {
        let (m, k, n) = (7, 5, 9);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let expected = naive(&a, &b, m, k, n);
        let (at, bt) = (transpose(&a, m, k), transpose(&b, k, n));
        for (ma, mb) in [
            (Mat::new(&a, m, k), Mat::new(&b, k, n)),
            (Mat::new(&at, k, m).t(), Mat::new(&b, k, n)),
            (Mat::new(&a, m, k), Mat::new(&bt, n, k).t()),
            (Mat::new(&at, k, m).t(), Mat::new(&bt, n, k).t()),
        ] {
            let mut out = vec![1.0; m * n];
            matmul(&mut out, ma, mb, false);
            for (x, y) in out.iter().zip(&expected) {
                assert!((x - y).abs() < 1e-5);
            }
            matmul(&mut out, ma, mb, true);
            for (x, y) in out.iter().zip(&expected) {
                assert!((x - 2.0 * y).abs() < 1e-5);
            }
        }
    }
}
