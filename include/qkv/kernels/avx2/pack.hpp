#pragma once
// How the x86 GEMMs pack A: rows [0, rows) x k [0, depth) of a (row stride lda) as tiles of
// tile_rows rows, each stored k-major: element (i, p) at
// out[(i / tile_rows) * tile_rows * depth + p * tile_rows + i % tile_rows].
// A micro-kernel then reads A as one contiguous stream whatever lda is (a row stride that is a
// multiple of 4 KiB would otherwise put every row of a tile in the same L1 set). Eight rows at a
// time go through 8 x 8 register transposes, kPackDepth k per row before the next eight rows, so
// a tile's output (12 KiB for 24 rows) is completed while it is in L1: 1.7x (K = 768) and 1.3x
// (K = 3072) faster than the former sweep of the whole tile per 4 rows, which spent ~4% of a
// 2-thread 128 x 3072 x 768 product. The AVX-512 GEMM uses it too (every AVX-512 CPU has AVX2).
#include <algorithm>
#include <cstdint>

#include "qkv/kernels/packing.hpp"
#include "qkv/kernels/x86.hpp"

#if QKV_X86_KERNELS
namespace qkv::kernels::avx2 {

inline constexpr std::int64_t kPackDepth = 128;

// dst[j * ld + r] = src[r * lda + j] for r, j in [0, 8).
QKV_TARGET_AVX2 inline void transpose_8x8(const float* src, std::int64_t lda, float* dst, std::int64_t ld) {
  __m256 t[8], s[8];
#pragma GCC unroll 4
  for (int r = 0; r < 8; r += 2) {  // pairs of rows interleaved: (r, r+1) at k = 0, 1 | 4, 5 and 2, 3 | 6, 7
    const __m256 x = _mm256_loadu_ps(src + r * lda), y = _mm256_loadu_ps(src + (r + 1) * lda);
    t[r] = _mm256_unpacklo_ps(x, y);
    t[r + 1] = _mm256_unpackhi_ps(x, y);
  }
#pragma GCC unroll 2
  for (int h = 0; h < 8; h += 4) {  // four rows at k = 0 | 4, 1 | 5, 2 | 6, 3 | 7
    s[h] = _mm256_shuffle_ps(t[h], t[h + 2], 0x44);
    s[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], 0xEE);
    s[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0x44);
    s[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0xEE);
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {  // rows 0-3 and 4-7 joined: k = j from the low halves, j + 4 from the high
    _mm256_storeu_ps(dst + j * ld, _mm256_permute2f128_ps(s[j], s[j + 4], 0x20));
    _mm256_storeu_ps(dst + (j + 4) * ld, _mm256_permute2f128_ps(s[j], s[j + 4], 0x31));
  }
}

QKV_TARGET_AVX2 inline void pack_row_tiles(const float* a, std::int64_t lda, std::int64_t rows, std::int64_t depth,
                                           std::int64_t tile_rows, float* out) {
  for (std::int64_t i = 0; i < rows; i += tile_rows) {
    const std::int64_t n = std::min(rows - i, tile_rows);
    const std::int64_t wide = n / 8 * 8, deep = depth / 8 * 8;  // rows in eights, k in eights
    const float* src = a + i * lda;
    float* tile = out + i * depth;
    for (std::int64_t p = 0; p < deep; p += kPackDepth)
      for (std::int64_t r = 0; r < wide; r += 8)
        for (std::int64_t q = p; q < std::min(p + kPackDepth, deep); q += 8)
          transpose_8x8(src + r * lda + q, lda, tile + q * tile_rows + r, tile_rows);
    for (std::int64_t r = 0; r < wide; ++r)
      for (std::int64_t p = deep; p < depth; ++p) tile[p * tile_rows + r] = src[r * lda + p];
    std::int64_t r = wide;
    for (; r + 4 <= n; r += 4) {  // four rows at a time: four k at a time through a transpose
      const float* rows4 = src + r * lda;
      std::int64_t p = 0;
      for (; p + 4 <= depth; p += 4) {
        __m128 x0 = _mm_loadu_ps(rows4 + p), x1 = _mm_loadu_ps(rows4 + lda + p);
        __m128 x2 = _mm_loadu_ps(rows4 + 2 * lda + p), x3 = _mm_loadu_ps(rows4 + 3 * lda + p);
        _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
        _mm_storeu_ps(tile + p * tile_rows + r, x0);
        _mm_storeu_ps(tile + (p + 1) * tile_rows + r, x1);
        _mm_storeu_ps(tile + (p + 2) * tile_rows + r, x2);
        _mm_storeu_ps(tile + (p + 3) * tile_rows + r, x3);
      }
      for (; p < depth; ++p)
        for (std::int64_t q = 0; q < 4; ++q) tile[p * tile_rows + r + q] = rows4[q * lda + p];
    }
    for (; r < n; ++r)
      for (std::int64_t p = 0; p < depth; ++p) tile[p * tile_rows + r] = src[r * lda + p];
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
