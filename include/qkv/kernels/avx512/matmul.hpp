#pragma once
// AVX-512 matrix products.
//
// GEMM against panels (packed weights, and row-major B for attention's probs x V): a
// register-blocked micro-tile keeps a [rows x 16] block of C's partial sums in zmm registers (24
// or 16 rows, see row_tile) and, for each k, loads one panel row of B and multiplies it by one
// element of each A row. Each A element feeds one FMA, so it is broadcast inside the FMA's memory
// operand ({1to16}): a separate broadcast costs a vector-pipe slot on Zen 4 (which runs 512-bit
// FMAs as two halves), and the former 12 x 32 tile (12 broadcasts per 24 FMAs) ran 2-9% slower
// there. On two-FMA Intel cores a 24-row tile's 25 loads per 24 FMAs sit at the
// two-loads-per-cycle limit. A single
// row (decode) instead runs against 4 panels at once (row_times_packed).
//
// Each c[i, j] is summed in fixed k blocks (kSumBlock, packing.hpp): one fused multiply-add chain
// per block from zero, added in order to a running total (in L1, and in C across kDepthBlock),
// then + bias[j]. That order does not depend on the tile, M, or which thread owns the column, so
// a row gives bitwise the same result alone, in a batch, or split over any number of threads.
//
// matmul_nt (B given as rows, e.g. an unpacked weight, the LM head, or attention's keys): dot
// products vectorised over k, 16 lanes of partial sums reduced by one fixed tree.
#include <algorithm>
#include <cstdint>

#include "qkv/kernels/avx2/pack.hpp"
#include "qkv/kernels/packing.hpp"
#include "qkv/kernels/x86.hpp"

#if QKV_X86_KERNELS
namespace qkv::kernels::avx512 {

inline constexpr int kMaxTileRows = 24;  // 24 chain accumulators

// Rows per micro-tile in a product of m rows. 24-row tiles read each weight panel fewer times,
// which is what counts when few rows share a panel fetched from DRAM (M = 24..48: 3-10% faster
// than 16); from M = 64 on, 16-row tiles (A's k-th column one 64-byte line) run 1-4% faster.
inline std::int64_t row_tile(std::int64_t m) { return m < 64 ? kMaxTileRows : 16; }

// A is packed in blocks of at most kRowBlock rows x kDepthBlock k (432 KiB: L2). kDepthBlock is a
// multiple of kSumBlock, so blocking never changes the order of a sum. 768 is the width of
// GPT-2-small and BERT-base: their K = 768 products take one block, and C is written once rather
// than written, read back and written again (8% faster at 512x768x3072 than 512).
inline constexpr std::int64_t kDepthBlock = 768;
inline constexpr std::int64_t kRowBlock = 144;  // whole tiles of 16 and 24; M = 128 is one block
// A packed once for the whole product (matmul_prepacked) is read in blocks of up to 1152 rows
// (3.4 MiB per 768-deep block: L3): the weights then pass through L2 once per 1152 rows rather
// than per 144, 2-6% faster at M = 512 and 1024 than L2-sized blocks.
inline constexpr std::int64_t kSharedRowBlock = 1152;
static_assert(kDepthBlock % kSumBlock == 0);

QKV_TARGET_AVX512 inline __mmask16 lane_mask(std::int64_t lanes) {
  return lanes >= 16 ? __mmask16(0xFFFF) : lanes <= 0 ? __mmask16(0) : __mmask16((1u << lanes) - 1u);
}

// C[R, 16] = (C +) A[R, kc] B[kc, 16]: A packed by pack_row_tiles in tiles of `tile` rows
// (element (r, p) at a[p * tile + r]), B with row stride ldb, columns masked by m. Each run of
// kSumBlock k values is one FMA chain from zero, added to a running total. `next` (or null): the
// next panel (same layout), fetched a line per k meanwhile.
template <int R>
QKV_TARGET_AVX512 inline void panel_tile(const float* a, std::int64_t tile, const float* b, std::int64_t ldb,
                                         std::int64_t kc, float* c, std::int64_t ldc, __mmask16 m, bool accumulate,
                                         const float* bias, const float* next) {
  // The running totals live in L1, not in registers, so that R = 24 registers can hold chains.
  alignas(64) float total[R][kPanelWidth] = {};
  // C's earlier k blocks' totals (K > kDepthBlock) are read at the end; fetching them now hides
  // their L2/L3 latency behind the tile (3072 x 768 on one thread: 3-5%).
  if (accumulate)
    for (int r = 0; r < R; ++r) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
  for (std::int64_t q = 0; q < kc; q += kSumBlock) {
    const std::int64_t end = std::min(kc, q + kSumBlock);
    __m512 sum[R];
#pragma GCC unroll 32
    for (int r = 0; r < R; ++r) sum[r] = _mm512_setzero_ps();
    for (std::int64_t p = q; p < end; ++p) {
      const __m512 x = _mm512_maskz_loadu_ps(m, b + p * ldb);
      if (next) _mm_prefetch(reinterpret_cast<const char*>(next + p * ldb), _MM_HINT_T1);
#pragma GCC unroll 32
      for (int r = 0; r < R; ++r) sum[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[p * tile + r]), x, sum[r]);
    }
#pragma GCC unroll 32
    for (int r = 0; r < R; ++r) _mm512_store_ps(total[r], _mm512_add_ps(_mm512_load_ps(total[r]), sum[r]));
  }
#pragma GCC unroll 32
  for (int r = 0; r < R; ++r) {
    __m512 t = _mm512_load_ps(total[r]);
    if (accumulate) t = _mm512_add_ps(_mm512_maskz_loadu_ps(m, c + r * ldc), t);  // earlier k blocks' total + this one's
    if (bias) t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(m, bias));
    _mm512_mask_storeu_ps(c + r * ldc, m, t);
  }
}

template <int R = kMaxTileRows>
QKV_TARGET_AVX512 inline void panel_tile_rows(int rows, const float* a, std::int64_t tile, const float* b,
                                              std::int64_t ldb, std::int64_t kc, float* c, std::int64_t ldc,
                                              __mmask16 m, bool accumulate, const float* bias, const float* next) {
  if constexpr (R > 1) {
    if (rows < R) return panel_tile_rows<R - 1>(rows, a, tile, b, ldb, kc, c, ldc, m, accumulate, bias, next);
  }
  panel_tile<R>(a, tile, b, ldb, kc, c, ldc, m, accumulate, bias, next);
}

// One row of A against P packed panels starting at column j (decode, M = 1): a tile of one row
// would have 2 FMA chains in flight and sit on their latency; P panels at once give P chains and
// P weight streams. The sums are those of panel_tile, term for term: runs of kSumBlock from zero,
// added into a total per kDepthBlock block, the blocks' totals added in order, then the bias.
template <int P>
QKV_TARGET_AVX512 inline void row_panels(const float* a, const float* b, std::int64_t panel_stride, std::int64_t k,
                                         float* c, std::int64_t n, std::int64_t j, const float* bias) {
  __m512 grand[P];
  for (std::int64_t kd = 0; kd < k; kd += kDepthBlock) {
    const std::int64_t block_end = std::min(k, kd + kDepthBlock);
    __m512 total[P];
#pragma GCC unroll 8
    for (int i = 0; i < P; ++i) total[i] = _mm512_setzero_ps();
    for (std::int64_t q = kd; q < block_end; q += kSumBlock) {
      const std::int64_t end = std::min(block_end, q + kSumBlock);
      __m512 sum[P];
#pragma GCC unroll 8
      for (int i = 0; i < P; ++i) sum[i] = _mm512_setzero_ps();
      for (std::int64_t p = q; p < end; ++p) {
        const __m512 x = _mm512_set1_ps(a[p]);
#pragma GCC unroll 8
        for (int i = 0; i < P; ++i)  // packed panels are zero beyond n: no masks
          sum[i] = _mm512_fmadd_ps(x, _mm512_loadu_ps(b + i * panel_stride + p * kPanelWidth), sum[i]);
      }
#pragma GCC unroll 8
      for (int i = 0; i < P; ++i) total[i] = _mm512_add_ps(total[i], sum[i]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < P; ++i) grand[i] = kd == 0 ? total[i] : _mm512_add_ps(grand[i], total[i]);
  }
#pragma GCC unroll 8
  for (int i = 0; i < P; ++i) {
    const std::int64_t column = j + i * kPanelWidth;
    const __mmask16 mask = lane_mask(n - column);
    if (bias) grand[i] = _mm512_add_ps(grand[i], _mm512_maskz_loadu_ps(mask, bias + column));
    _mm512_mask_storeu_ps(c + column, mask, grand[i]);
  }
}

// A single row of A times packed panels [panel_begin, panel_end), 4 panels at a time.
QKV_TARGET_AVX512 inline void row_times_packed(const float* a, const float* b, std::int64_t k, float* c, std::int64_t n,
                                               std::int64_t panel_begin, std::int64_t panel_end, const float* bias) {
  const std::int64_t stride = k * kPanelWidth;
  std::int64_t p = panel_begin;
  for (; p + 4 <= panel_end; p += 4) row_panels<4>(a, b + p * stride, stride, k, c, n, p * kPanelWidth, bias);
  for (; p < panel_end; ++p) row_panels<1>(a, b + p * stride, stride, k, c, n, p * kPanelWidth, bias);
}

// C[m, columns of panels [panel_begin, panel_end)] = A[m, k] B[k, n] (+ bias). Panel p (16
// columns) starts at b + p * panel_stride and has row stride ldb: packed weights have
// panel_stride = 16k, ldb = 16; a row-major B has panel_stride = 16, ldb = its row stride.
// Blocking: a [kRowBlock x kDepthBlock] block of A is packed (L2); for each panel, every row tile
// runs through the block's k with its C tile in registers. With `prepacked` (all of A
// in pack_gemm_rows' layout, shared by the threads) the blocks are read from there instead.
QKV_TARGET_AVX512 inline void gemm_panels(const float* a, std::int64_t lda, const float* prepacked, const float* b,
                                          std::int64_t panel_stride, std::int64_t ldb, float* c, std::int64_t ldc,
                                          std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t panel_begin,
                                          std::int64_t panel_end, const float* bias) {
  if (k == 0) return empty_product(c, ldc, m, n, panel_begin, panel_end, bias);
  if (m == 1 && !prepacked && panel_stride == k * kPanelWidth && ldb == kPanelWidth)
    return row_times_packed(a, b, k, c, n, panel_begin, panel_end, bias);
  const bool packed = ldb == kPanelWidth && panel_stride == k * kPanelWidth;  // not attention's V
  float* buffer = prepacked ? nullptr : thread_scratch<Scratch::packed_rows>((kRowBlock + kMaxTileRows) * kDepthBlock);
  const std::int64_t tile = row_tile(m);
  const std::int64_t padded_rows = whole_tiles(m, tile);
  const std::int64_t block_rows = equal_row_blocks(m, prepacked ? kSharedRowBlock : kRowBlock, tile);
  for (std::int64_t kd = 0; kd < k; kd += kDepthBlock) {
    const std::int64_t depth = std::min(kDepthBlock, k - kd);
    for (std::int64_t ib = 0; ib < m; ib += block_rows) {
      const std::int64_t rows = std::min(block_rows, m - ib);
      const float* packed_a = prepacked ? prepacked + kd * padded_rows + ib * depth : buffer;
      if (!prepacked) avx2::pack_row_tiles(a + ib * lda + kd, lda, rows, depth, tile, buffer);
      for (std::int64_t p = panel_begin; p < panel_end; ++p) {
        const std::int64_t j = p * kPanelWidth;
        const float* bp = b + p * panel_stride + kd * ldb;
        // The first row tile of a panel reads its weights from L3 or DRAM and, despite the
        // hardware prefetchers, waited for them: it fetches the next panel's block into L2
        // meanwhile, a line per k. 3-10% faster at M = 32..128; at M = 8 with weights from DRAM
        // 1.4-1.8x (into L1 instead: no gain there, the L1 has too few misses in flight).
        const float* next = packed && p + 1 < panel_end ? bp + panel_stride : nullptr;
        for (std::int64_t i = 0; i < rows; i += tile)
          panel_tile_rows(int(std::min(tile, rows - i)), packed_a + i * depth, tile, bp, ldb, depth,
                          c + (ib + i) * ldc + j, ldc, lane_mask(n - j), kd > 0,
                          kd + depth == k && bias ? bias + j : nullptr, i == 0 ? next : nullptr);
      }
    }
  }
}

QKV_TARGET_AVX512 inline void matmul_packed(const float* a, std::int64_t lda, const float* packed, float* c,
                                            std::int64_t ldc, std::int64_t m, std::int64_t n, std::int64_t k,
                                            std::int64_t panel_begin, std::int64_t panel_end, const float* bias) {
  gemm_panels(a, lda, nullptr, packed, k * kPanelWidth, kPanelWidth, c, ldc, m, n, k, panel_begin, panel_end, bias);
}

QKV_TARGET_AVX512 inline void pack_gemm_rows(const float* a, std::int64_t lda, std::int64_t m, std::int64_t k,
                                             std::int64_t row_begin, std::int64_t row_end, float* out) {
  avx2::pack_gemm_rows(a, lda, m, k, row_begin, row_end, row_tile(m), kDepthBlock, out);
}

QKV_TARGET_AVX512 inline void matmul_prepacked(const float* packed_rows, const float* packed, float* c,
                                               std::int64_t ldc, std::int64_t m, std::int64_t n, std::int64_t k,
                                               std::int64_t panel_begin, std::int64_t panel_end, const float* bias) {
  gemm_panels(nullptr, 0, packed_rows, packed, k * kPanelWidth, kPanelWidth, c, ldc, m, n, k, panel_begin, panel_end,
              bias);
}

QKV_TARGET_AVX512 inline void matmul_nn(const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c,
                                        std::int64_t ldc, std::int64_t m, std::int64_t n, std::int64_t k) {
  gemm_panels(a, lda, nullptr, b, kPanelWidth, ldb, c, ldc, m, n, k, 0, panel_count(n), nullptr);
}

// The sum of 16 lanes, always in the same tree order (halves, quarters, pairs, neighbours).
QKV_TARGET_AVX512 inline float reduce_lanes(__m512 v) {
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4E));
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0xB1));
  v = _mm512_add_ps(v, _mm512_permute_ps(v, 0x4E));
  v = _mm512_add_ps(v, _mm512_permute_ps(v, 0xB1));
  return _mm512_cvtss_f32(v);
}

// c[R, C] = a[R, k] . b[C, k] (+ bias[C]) for the C columns j, j + step, j + 2 step, ... (b, c and
// bias point at column j): each output accumulates lane l over k = l, l + 16, ...
template <int R, int C>
QKV_TARGET_AVX512 inline void dot_tile(const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                                       std::int64_t step, std::int64_t k, float* c, std::int64_t ldc,
                                       const float* bias) {
  __m512 acc[R][C];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < C; ++q) acc[r][q] = _mm512_setzero_ps();
  for (std::int64_t p = 0; p < k; p += 16) {
    const __mmask16 mask = lane_mask(k - p);
    __m512 x[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) x[r] = _mm512_maskz_loadu_ps(mask, a + r * lda + p);
#pragma GCC unroll 4
    for (int q = 0; q < C; ++q) {
      const __m512 w = _mm512_maskz_loadu_ps(mask, b + q * step * ldb + p);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[r][q] = _mm512_fmadd_ps(x[r], w, acc[r][q]);
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

// Every row of a against the C columns of b at j, j + step, ... (which stay in L1 meanwhile).
template <int C>
QKV_TARGET_AVX512 inline void dot_columns(const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                                          std::int64_t step, std::int64_t k, float* c, std::int64_t ldc,
                                          std::int64_t m, const float* bias) {
  for (std::int64_t i = 0; i < m; i += 4) {
    const float* ai = a + i * lda;
    float* ci = c + i * ldc;
    switch (std::min<std::int64_t>(4, m - i)) {
      case 1: dot_tile<1, C>(ai, lda, b, ldb, step, k, ci, ldc, bias); break;
      case 2: dot_tile<2, C>(ai, lda, b, ldb, step, k, ci, ldc, bias); break;
      case 3: dot_tile<3, C>(ai, lda, b, ldb, step, k, ci, ldc, bias); break;
      default: dot_tile<4, C>(ai, lda, b, ldb, step, k, ci, ldc, bias); break;
    }
  }
}

// A tile's 4 columns lie a quarter of n apart rather than side by side: a single row of a (the
// LM head at decode) then reads b as 4 long sequential streams, which the hardware prefetchers
// keep up with, instead of runs of 4 adjacent rows that restart every 4 rows: 25 -> 33 GB/s on
// GPT-2's 154 MB LM head with 2 threads. Each output's sum is the same either way.
QKV_TARGET_AVX512 inline void matmul_nt(const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c,
                                        std::int64_t ldc, std::int64_t m, std::int64_t n, std::int64_t k,
                                        const float* bias) {
  const std::int64_t step = n / 4;
  for (std::int64_t j = 0; j < step; ++j)
    dot_columns<4>(a, lda, b + j * ldb, ldb, step, k, c + j, ldc, m, bias ? bias + j : nullptr);
  for (std::int64_t j = 4 * step; j < n; ++j)
    dot_columns<1>(a, lda, b + j * ldb, ldb, 1, k, c + j, ldc, m, bias ? bias + j : nullptr);
}

}  // namespace qkv::kernels::avx512
#endif
