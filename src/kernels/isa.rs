//! The vector instruction sets the CPU kernels are compiled for, and running code with one
//! enabled. The native build targets baseline x86-64 (SSE2), so the kernels' loops are
//! compiled again inside functions that enable AVX-512 or AVX2 with FMA, called when the CPU
//! has them (found at run time); in the browser the whole build has `simd128`.

/// An instruction set the kernels are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Isa {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// 128-bit vectors (wasm `simd128`, SSE2) or whatever the compiler makes of the loops.
    Portable,
}

impl Isa {
    /// The widest this CPU has (the same on every call).
    pub(super) fn detect() -> Isa {
        Isa::available()[0]
    }

    /// Every instruction set this CPU has, widest first (the portable one last).
    pub(super) fn available() -> Vec<Isa> {
        #[cfg(target_arch = "x86_64")]
        let native = [
            (Isa::Avx512, std::arch::is_x86_feature_detected!("avx512f")),
            (
                Isa::Avx2,
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma"),
            ),
        ];
        #[cfg(not(target_arch = "x86_64"))]
        let native: [(Isa, bool); 0] = [];
        native
            .into_iter()
            .filter_map(|(isa, present)| present.then_some(isa))
            .chain([Isa::Portable])
            .collect()
    }

    /// Its name in a report.
    pub(super) fn name(self) -> &'static str {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => "x86_64 AVX-512",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "x86_64 AVX2+FMA",
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Isa::Portable => "wasm32 simd128",
            #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
            Isa::Portable => "portable",
        }
    }

    /// Whether a dense layer's ReLU is applied as its tiles store their sums. In wasm the
    /// comparison in the tile's store made the page's support2 demo slower (2.66 s to 3.0 s;
    /// with 16 vector registers in V8 the tile has none to spare), so there it stays a pass
    /// over the outputs; natively it saved 5% of the MLP's time.
    pub(super) fn stores_relu(self) -> bool {
        self != Isa::Portable
    }

    /// Values per vector register.
    pub(super) fn lanes(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => 16,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => 8,
            Isa::Portable => 4,
        }
    }

    /// Vectors of output channels a direct tile holds per pixel for `channels` outputs: the
    /// choice that pads the fewest channels, wider on a tie (AVX-512's 32 registers hold
    /// 6 pixels × 4 vectors; the others' 16 hold 2 vectors for a useful number of pixels).
    pub(super) fn block_vectors(self, channels: usize) -> usize {
        let widest = match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => 4,
            _ => 2,
        };
        let padded = |vectors: usize| channels.div_ceil(vectors * self.lanes()) * vectors;
        [4, 2, 1]
            .into_iter()
            .filter(|&v| v <= widest)
            .min_by_key(|&v| padded(v))
            .unwrap_or(1)
    }

    /// Runs `work` compiled with this instruction set enabled (the loops of a pass over
    /// contiguous values then use its widest vectors).
    pub(super) fn vectorised<T>(self, work: impl FnOnce() -> T) -> T {
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::detect` found AVX-512F on this CPU.
            Isa::Avx512 => unsafe { with_avx512(work) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::detect` found AVX2 and FMA on this CPU.
            Isa::Avx2 => unsafe { with_avx2(work) },
            Isa::Portable => work(),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn with_avx512<T>(work: impl FnOnce() -> T) -> T {
    work()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn with_avx2<T>(work: impl FnOnce() -> T) -> T {
    work()
}
