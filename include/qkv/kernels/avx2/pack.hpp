#pragma once
// How the x86 GEMMs pack A: rows [0, rows) x k [0, depth) of a (row stride lda) as tiles of
// tile_rows rows, each stored k-major: element (i, p) at
// out[(i / tile_rows) * tile_rows * depth + p * tile_rows + i % tile_rows].
// A micro-kernel then reads A as one contiguous stream whatever lda is (a row stride that is a
// multiple of 4 KiB would otherwise put every row of a tile in the same L1 set). 4x4 register
// transposes: element by element, packing cost about 5% of a GPT-2 prefill. The AVX-512 GEMM uses
// it too (every AVX-512 CPU has AVX2).
#include <algorithm>
#include <cstdint>

#include "qkv/kernels/packing.hpp"
#include "qkv/kernels/x86.hpp"

#if QKV_X86_KERNELS
namespace qkv::kernels::avx2 {

QKV_TARGET_AVX2 inline void pack_row_tiles(const float* a, std::int64_t lda, std::int64_t rows, std::int64_t depth,
                                           std::int64_t tile_rows, float* out) {
  for (std::int64_t i = 0; i < rows; i += tile_rows) {
    const std::int64_t n = std::min(rows - i, tile_rows);
    float* tile = out + i * depth;
    std::int64_t r = 0;
    for (; r + 4 <= n; r += 4) {  // four rows at a time: four k at a time through a transpose
      const float* src = a + (i + r) * lda;
      std::int64_t p = 0;
      for (; p + 4 <= depth; p += 4) {
        __m128 x0 = _mm_loadu_ps(src + p), x1 = _mm_loadu_ps(src + lda + p);
        __m128 x2 = _mm_loadu_ps(src + 2 * lda + p), x3 = _mm_loadu_ps(src + 3 * lda + p);
        _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
        _mm_storeu_ps(tile + p * tile_rows + r, x0);
        _mm_storeu_ps(tile + (p + 1) * tile_rows + r, x1);
        _mm_storeu_ps(tile + (p + 2) * tile_rows + r, x2);
        _mm_storeu_ps(tile + (p + 3) * tile_rows + r, x3);
      }
      for (; p < depth; ++p)
        for (std::int64_t q = 0; q < 4; ++q) tile[p * tile_rows + r + q] = src[q * lda + p];
    }
    for (; r < n; ++r)
      for (std::int64_t p = 0; p < depth; ++p) tile[p * tile_rows + r] = a[(i + r) * lda + p];
  }
}

// Rows [row_begin, row_end) of a [m, k] into the layout both x86 GEMMs read when A is packed
// once for all threads: k in blocks of depth_block, block kd at out + kd * (m rounded up to
// tile_rows), and within a block the tiles of pack_row_tiles (row i's tile at i * depth).
QKV_TARGET_AVX2 inline void pack_gemm_rows(const float* a, std::int64_t lda, std::int64_t m, std::int64_t k,
                                           std::int64_t row_begin, std::int64_t row_end, std::int64_t tile_rows,
                                           std::int64_t depth_block, float* out) {
  const std::int64_t padded_rows = whole_tiles(m, tile_rows);
  for (std::int64_t kd = 0; kd < k; kd += depth_block) {
    const std::int64_t depth = std::min(depth_block, k - kd);
    pack_row_tiles(a + row_begin * lda + kd, lda, row_end - row_begin, depth, tile_rows,
                   out + kd * padded_rows + row_begin * depth);
  }
}

}  // namespace qkv::kernels::avx2
#endif
