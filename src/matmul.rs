//! The matrix products of reference training (forward and backward), on the GEMM that is
//! fastest for the build. Natively: `rten-gemm`'s packed kernel (AVX-512 or AVX2+FMA,
//! chosen at run time). In the browser: the `gemm`
//! crate's simd128 kernel, which in Chromium ran the zoo's MLP 1.4× and its CNN 1.2× faster
//! than `rten-gemm`'s (`node scripts/bench-browser.mjs`, 2026-12-03): `rten-gemm`'s wasm
//! tile keeps 16 vector accumulators, more than V8 gives wasm registers on x86-64.
//! Either operand may be read transposed in place: no transposed copy is ever made.

#[cfg(not(target_arch = "wasm32"))]
use rten_gemm::{GemmExecutor, GemmInputA, GemmInputB, GemmOptions};
#[cfg(not(target_arch = "wasm32"))]
use rten_tensor::NdTensorView;

#[cfg(not(target_arch = "wasm32"))]
thread_local! {
    /// The kernel this CPU has (the same on every thread, so weights packed on one thread
    /// fit the kernel on another). Per thread: the executor is not `Sync`.
    static GEMM: GemmExecutor<f32> = GemmExecutor::default();
}

/// A row-major matrix, read as stored or transposed.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a> {
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

    /// (column stride, row stride) of the matrix as read, in values.
    #[cfg(target_arch = "wasm32")]
    fn strides(&self) -> (isize, isize) {
        if self.transposed {
            (self.cols as isize, 1)
        } else {
            (1, self.cols as isize)
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
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
pub(crate) fn matmul(out: &mut [f32], a: Mat<'_>, b: Mat<'_>, accumulate: bool) {
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
    #[cfg(not(target_arch = "wasm32"))]
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
    #[cfg(target_arch = "wasm32")]
    {
        let ((a_col, a_row), (b_col, b_row)) = (a.strides(), b.strides());
        // SAFETY: `out` holds m·n values and `a`, `b` hold the m·k and k·n their strides
        // address (checked above); none of them overlap, `out` being borrowed mutably.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                out.as_mut_ptr(),
                1,
                n as isize,
                accumulate,
                a.data.as_ptr(),
                a_col,
                a_row,
                b.data.as_ptr(),
                b_col,
                b_row,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
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
