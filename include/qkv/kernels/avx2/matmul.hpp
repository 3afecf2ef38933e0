#pragma once
// AVX2 + FMA matrix products: the AVX-512 design (kernels/avx512/matmul.hpp) on 16 ymm registers.
// A micro-tile is [kTileRows x 16] (one panel): 12 FMA chains, what covers the FMA latency on
// two 256-bit pipes (3 rows reached only ~65% of peak); the per-element order (fixed k
// blocks of FMA chains, then + bias; dot products with 8 lanes and one fixed reduction tree) is
// again independent of tiles, M and threads.
#include <algorithm>
#include <cstdint>

#include "qkv/kernels/avx2/pack.hpp"
#include "qkv/kernels/packing.hpp"
#include "qkv/kernels/x86.hpp"

#if QKV_X86_KERNELS
namespace qkv::kernels::avx2 {

inline constexpr int kTileRows = 6;  // 12 chain accumulators
inline std::int64_t row_tile(std::int64_t) { return kTileRows; }  // see KernelTable::gemm_row_tile
inline constexpr std::int64_t kDepthBlock = 768;  // A blocks as in avx512::gemm_panels
inline constexpr std::int64_t kRowBlock = 22 * kTileRows;  // 132: M = 128 is one block
static_assert(kDepthBlock % kSumBlock == 0);

// Lanes [0, lanes) set.
QKV_TARGET_AVX2 inline __m256i lane_mask(std::int64_t lanes) {
  const int count = int(std::clamp<std::int64_t>(lanes, 0, 8));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// C[R, 16] = (C +) A[R, kc] B[kc, 16] (A packed by pack_row_tiles, B with row stride ldb); m0/m1
// mask columns 0-7 / 8-15. B is read with masks only when MaskedB (a row-major B's last columns);
// packed panels are zero-padded. Runs of kSumBlock k values are FMA chains added to a total.
template <int R, bool MaskedB>
QKV_TARGET_AVX2 inline void panel_tile(const float* a, const float* b, std::int64_t ldb, std::int64_t kc, float* c,
                                       std::int64_t ldc, __m256i m0, __m256i m1, bool accumulate, const float* bias) {
  // The running totals live in L1, not in registers: 16 ymm registers hold 2R chains, B's two
  // vectors and a broadcast, and 2R = 12 chains are what it takes to cover the FMA latency.
  alignas(32) float total[R][kPanelWidth] = {};
  for (std::int64_t q = 0; q < kc; q += kSumBlock) {
    const std::int64_t end = std::min(kc, q + kSumBlock);
    __m256 s0[R], s1[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) s0[r] = s1[r] = _mm256_setzero_ps();
    for (std::int64_t p = q; p < end; ++p) {
      const __m256 x0 = MaskedB ? _mm256_maskload_ps(b + p * ldb, m0) : _mm256_loadu_ps(b + p * ldb);
      const __m256 x1 = MaskedB ? _mm256_maskload_ps(b + p * ldb + 8, m1) : _mm256_loadu_ps(b + p * ldb + 8);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m256 ar = _mm256_broadcast_ss(a + p * kTileRows + r);
        s0[r] = _mm256_fmadd_ps(ar, x0, s0[r]);
        s1[r] = _mm256_fmadd_ps(ar, x1, s1[r]);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      _mm256_store_ps(total[r], _mm256_add_ps(_mm256_load_ps(total[r]), s0[r]));
      _mm256_store_ps(total[r] + 8, _mm256_add_ps(_mm256_load_ps(total[r] + 8), s1[r]));
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    __m256 t0 = _mm256_load_ps(total[r]), t1 = _mm256_load_ps(total[r] + 8);
    if (accumulate) {
      t0 = _mm256_add_ps(_mm256_maskload_ps(c + r * ldc, m0), t0);
      t1 = _mm256_add_ps(_mm256_maskload_ps(c + r * ldc + 8, m1), t1);
    }
    if (bias) {
      t0 = _mm256_add_ps(t0, _mm256_maskload_ps(bias, m0));
      t1 = _mm256_add_ps(t1, _mm256_maskload_ps(bias + 8, m1));
    }
    _mm256_maskstore_ps(c + r * ldc, m0, t0);
    _mm256_maskstore_ps(c + r * ldc + 8, m1, t1);
  }
}

template <bool MaskedB, int R = kTileRows>
QKV_TARGET_AVX2 inline void panel_tile_rows(int rows, const float* a, const float* b, std::int64_t ldb,
                                            std::int64_t kc, float* c, std::int64_t ldc, __m256i m0, __m256i m1,
                                            bool accumulate, const float* bias) {
  if constexpr (R > 1) {
    if (rows < R) return panel_tile_rows<MaskedB, R - 1>(rows, a, b, ldb, kc, c, ldc, m0, m1, accumulate, bias);
  }
  panel_tile<R, MaskedB>(a, b, ldb, kc, c, ldc, m0, m1, accumulate, bias);
}

// See avx512::gemm_panels; `padded`: panels are zero beyond n (packed), so B needs no masks.
QKV_TARGET_AVX2 inline void gemm_panels(const float* a, std::int64_t lda, const float* prepacked, const float* b,
                                        std::int64_t panel_stride, std::int64_t ldb, bool padded, float* c,
                                        std::int64_t ldc, std::int64_t m, std::int64_t n, std::int64_t k,
                                        std::int64_t panel_begin, std::int64_t panel_end, const float* bias) {
  if (k == 0) return empty_product(c, ldc, m, n, panel_begin, panel_end, bias);
  float* buffer = prepacked ? nullptr : thread_scratch<Scratch::packed_rows>((kRowBlock + kTileRows) * kDepthBlock);
  const std::int64_t padded_rows = whole_tiles(m, kTileRows);
  const std::int64_t block_rows = equal_row_blocks(m, kRowBlock, kTileRows);
  for (std::int64_t kd = 0; kd < k; kd += kDepthBlock) {
    const std::int64_t depth = std::min(kDepthBlock, k - kd);
    for (std::int64_t ib = 0; ib < m; ib += block_rows) {
      const std::int64_t rows = std::min(block_rows, m - ib);
      const float* packed_a = prepacked ? prepacked + kd * padded_rows + ib * depth : buffer;
      if (!prepacked) avx2::pack_row_tiles(a + ib * lda + kd, lda, rows, depth, kTileRows, buffer);
      for (std::int64_t p = panel_begin; p < panel_end; ++p) {
        const std::int64_t j = p * kPanelWidth;
        const __m256i m0 = lane_mask(n - j), m1 = lane_mask(n - j - 8);
        const bool masked_b = !padded && n - j < kPanelWidth;
        const float* bp = b + p * panel_stride + kd * ldb;
        for (std::int64_t i = 0; i < rows; i += kTileRows) {
          const int tile_rows = int(std::min<std::int64_t>(kTileRows, rows - i));
          const float* bias_j = kd + depth == k && bias ? bias + j : nullptr;
          float* ci = c + (ib + i) * ldc + j;
          if (masked_b)
            panel_tile_rows<true>(tile_rows, packed_a + i * depth, bp, ldb, depth, ci, ldc, m0, m1, kd > 0, bias_j);
          else
            panel_tile_rows<false>(tile_rows, packed_a + i * depth, bp, ldb, depth, ci, ldc, m0, m1, kd > 0, bias_j);
        }
      }
    }
  }
}

QKV_TARGET_AVX2 inline void matmul_packed(const float* a, std::int64_t lda, const float* packed, float* c,
                                          std::int64_t ldc, std::int64_t m, std::int64_t n, std::int64_t k,
                                          std::int64_t panel_begin, std::int64_t panel_end, const float* bias) {
  gemm_panels(a, lda, nullptr, packed, k * kPanelWidth, kPanelWidth, true, c, ldc, m, n, k, panel_begin, panel_end,
              bias);
}

QKV_TARGET_AVX2 inline void pack_gemm_rows(const float* a, std::int64_t lda, std::int64_t m, std::int64_t k,
                                           std::int64_t row_begin, std::int64_t row_end, float* out) {
  pack_gemm_rows(a, lda, m, k, row_begin, row_end, kTileRows, kDepthBlock, out);
}

QKV_TARGET_AVX2 inline void matmul_prepacked(const float* packed_rows, const float* packed, float* c, std::int64_t ldc,
                                             std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t panel_begin,
                                             std::int64_t panel_end, const float* bias) {
  gemm_panels(nullptr, 0, packed_rows, packed, k * kPanelWidth, kPanelWidth, true, c, ldc, m, n, k, panel_begin,
              panel_end, bias);
}

QKV_TARGET_AVX2 inline void matmul_nn(const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c,
                                      std::int64_t ldc, std::int64_t m, std::int64_t n, std::int64_t k) {
  gemm_panels(a, lda, nullptr, b, kPanelWidth, ldb, false, c, ldc, m, n, k, 0, panel_count(n), nullptr);
}

// The sum of 8 lanes, always in the same tree order.
QKV_TARGET_AVX2 inline float reduce_lanes(__m256 v) {
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s4, _mm_movehdup_ps(s4)));
}

// c[R, C] = a[R, k] . b[C, k] (+ bias[C]) for the C columns j, j + step, ... (b, c and bias point
// at column j); lane l accumulates k = l, l + 8, ...
template <int R, int C>
QKV_TARGET_AVX2 inline void dot_tile(const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                                     std::int64_t step, std::int64_t k, float* c, std::int64_t ldc, const float* bias) {
  __m256 acc[R][C];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < C; ++q) acc[r][q] = _mm256_setzero_ps();
  for (std::int64_t p = 0; p < k; p += 8) {
    const bool full = k - p >= 8;
    const __m256i mask = lane_mask(k - p);
    __m256 x[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) x[r] = full ? _mm256_loadu_ps(a + r * lda + p) : _mm256_maskload_ps(a + r * lda + p, mask);
#pragma GCC unroll 4
    for (int q = 0; q < C; ++q) {
      const float* w_row = b + q * step * ldb + p;
      const __m256 w = full ? _mm256_loadu_ps(w_row) : _mm256_maskload_ps(w_row, mask);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[r][q] = _mm256_fmadd_ps(x[r], w, acc[r][q]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < C; ++q) {
      const float s = reduce_lanes(acc[r][q]);
      c[r * ldc + q * step] = bias ? s + bias[q * step] : s;
    }
}

// Every row of a, two at a time, against the C columns of b at j, j + step, ...
template <int C>
QKV_TARGET_AVX2 inline void dot_columns(const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                                        std::int64_t step, std::int64_t k, float* c, std::int64_t ldc, std::int64_t m,
                                        const float* bias) {
  std::int64_t i = 0;
  for (; i + 2 <= m; i += 2) dot_tile<2, C>(a + i * lda, lda, b, ldb, step, k, c + i * ldc, ldc, bias);
  if (i < m) dot_tile<1, C>(a + i * lda, lda, b, ldb, step, k, c + i * ldc, ldc, bias);
}

// Tiles of 4 columns a quarter of n apart, as in the AVX-512 version: one row of a reads b as 4
// long sequential streams.
QKV_TARGET_AVX2 inline void matmul_nt(const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c,
                                      std::int64_t ldc, std::int64_t m, std::int64_t n, std::int64_t k,
                                      const float* bias) {
  const std::int64_t step = n / 4;
  for (std::int64_t j = 0; j < step; ++j)
    dot_columns<4>(a, lda, b + j * ldb, ldb, step, k, c + j, ldc, m, bias ? bias + j : nullptr);
  for (std::int64_t j = 4 * step; j < n; ++j)
    dot_columns<1>(a, lda, b + j * ldb, ldb, 1, k, c + j, ldc, m, bias ? bias + j : nullptr);
}

}  // namespace qkv::kernels::avx2
#endif
