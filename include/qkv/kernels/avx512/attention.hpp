#pragma once
// AVX-512 fused attention of one head (KernelTable::attention): tiles of 8 queries against tiles of
// 16 keys with an online softmax (running max m, running sum l, accumulator O rescaled by
// exp(m_old - m_new) when the max grows), so the [lq, lk] scores never exist. O lives in the
// output rows (any dv without a heap buffer); the last step divides each row by its l.
//
// Scores: for one query row and 16 keys, 16 accumulators of q[p:p+16] * k_j[p:p+16] over d, then
// one fixed transpose-and-add tree turns them into a vector of 16 dot products. Every key is its
// own lane, so the tree never mixes keys.
//
// Determinism (batch padding must not change a sequence's bits): key tiles start at the first
// unpadded key; each row's arithmetic is the same whatever rows share its query tile; a row stops
// at its causal limit; a tile with no visible key leaves the row's state untouched; masked keys
// get p = +0 in the sums and are skipped in the p v accumulation (so no 0 * v, no -0 + 0).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "qkv/kernels/avx512/elementwise.hpp"
#include "qkv/kernels/avx512/vector_math.hpp"
#include "qkv/kernels/kernel_table.hpp"
#include "qkv/kernels/x86.hpp"

#if QKV_X86_KERNELS
namespace qkv::kernels::avx512 {

namespace attention_detail {

constexpr std::int64_t kKeyTile = 16;   // keys per tile: one vector of scores
constexpr std::int64_t kQueryTile = 8;  // rows that reuse a key/value tile while it is in L1
constexpr std::int64_t kOutChunk = 64;  // output columns held in 4 registers while adding p v

// Lane j of the result is the sum of the 16 lanes of a[j] (fixed tree: pairs within 128-bit
// lanes, then across them).
QKV_TARGET_AVX512 inline __m512 lane_sums(const __m512* a) {
  __m512 w[8], x[4];
  for (int i = 0; i < 8; ++i)
    w[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
  for (int i = 0; i < 4; ++i)  // per 128-bit lane: partial sums of a[4i .. 4i+3]
    x[i] = _mm512_add_ps(_mm512_shuffle_ps(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  const __m512 z01 = _mm512_add_ps(_mm512_shuffle_f32x4(x[0], x[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_f32x4(x[0], x[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512 z23 = _mm512_add_ps(_mm512_shuffle_f32x4(x[2], x[3], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_f32x4(x[2], x[3], _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_add_ps(_mm512_shuffle_f32x4(z01, z23, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(z01, z23, _MM_SHUFFLE(3, 1, 3, 1)));
}

// q . k_j for the 16 keys at k (row stride ldk); keys from `valid` on read key 0 instead (their
// lanes are masked by the caller), so nothing past the last key is touched.
QKV_TARGET_AVX512 inline __m512 dot_tile(const float* q, const float* k, std::int64_t ldk, std::int64_t valid,
                                         std::int64_t d) {
  const float* rows[kKeyTile];
  for (std::int64_t j = 0; j < kKeyTile; ++j) rows[j] = k + (j < valid ? j : 0) * ldk;
  __m512 acc[kKeyTile];
#pragma GCC unroll 16
  for (int j = 0; j < kKeyTile; ++j) acc[j] = _mm512_setzero_ps();
  std::int64_t p = 0;
  for (; p + 16 <= d; p += 16) {
    const __m512 qv = _mm512_loadu_ps(q + p);
#pragma GCC unroll 16
    for (int j = 0; j < kKeyTile; ++j) acc[j] = _mm512_fmadd_ps(qv, _mm512_loadu_ps(rows[j] + p), acc[j]);
  }
  if (p < d) {
    const __mmask16 m = detail::tail_mask(d - p);
    const __m512 qv = _mm512_maskz_loadu_ps(m, q + p);
#pragma GCC unroll 16
    for (int j = 0; j < kKeyTile; ++j) acc[j] = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, rows[j] + p), acc[j]);
  }
  return lane_sums(acc);
}

// The scores of two query rows against the same 16 keys, each key load shared by both rows: 8 keys
// at a time in 16 accumulators [a . k_0..7, b . k_0..7]. Every (row, key) dot product is the same
// chain of FMAs and the same lane_sums tree (it treats every input vector alike) as in dot_tile,
// so a row's scores have the same bits whether or not it is paired.
QKV_TARGET_AVX512 inline void dot_tile2(const float* qa, const float* qb, const float* k, std::int64_t ldk,
                                        std::int64_t valid, std::int64_t d, __m512& sa, __m512& sb) {
  __m512 half[2];
  for (int h = 0; h < 2; ++h) {
    const float* rows[8];
    for (std::int64_t j = 0; j < 8; ++j) rows[j] = k + (8 * h + j < valid ? 8 * h + j : 0) * ldk;
    __m512 acc[16];
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
    std::int64_t p = 0;
    for (; p + 16 <= d; p += 16) {
      const __m512 a = _mm512_loadu_ps(qa + p), b = _mm512_loadu_ps(qb + p);
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const __m512 kv = _mm512_loadu_ps(rows[j] + p);
        acc[j] = _mm512_fmadd_ps(a, kv, acc[j]);
        acc[8 + j] = _mm512_fmadd_ps(b, kv, acc[8 + j]);
      }
    }
    if (p < d) {
      const __mmask16 m = detail::tail_mask(d - p);
      const __m512 a = _mm512_maskz_loadu_ps(m, qa + p), b = _mm512_maskz_loadu_ps(m, qb + p);
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const __m512 kv = _mm512_maskz_loadu_ps(m, rows[j] + p);
        acc[j] = _mm512_fmadd_ps(a, kv, acc[j]);
        acc[8 + j] = _mm512_fmadd_ps(b, kv, acc[8 + j]);
      }
    }
    half[h] = lane_sums(acc);  // lanes 0..7: row a, keys 8h..8h+7; lanes 8..15: row b
  }
  sa = _mm512_shuffle_f32x4(half[0], half[1], _MM_SHUFFLE(1, 0, 1, 0));
  sb = _mm512_shuffle_f32x4(half[0], half[1], _MM_SHUFFLE(3, 2, 3, 2));
}

// Nonzero bytes among the first lanes of `in` as a lane mask.
QKV_TARGET_AVX512 inline __mmask16 nonzero_bytes(const std::uint8_t* bytes, __mmask16 in) {
  const __m128i b = _mm_maskz_loadu_epi8(in, bytes);
  return _mm_mask_test_epi8_mask(in, b, b);
}

// o = o * alpha (when rescale) + sum over the live keys j, in order, of p[j] * v_j.
QKV_TARGET_AVX512 inline void accumulate_pv(float* o, const float* v, std::int64_t ldv, std::int64_t dv, __m512 p,
                                            __mmask16 live, bool rescale, float alpha) {
  alignas(64) float pj[kKeyTile];
  _mm512_store_ps(pj, p);
  const __m512 va = _mm512_set1_ps(alpha);
  for (std::int64_t c0 = 0; c0 < dv; c0 += kOutChunk) {
    const std::int64_t width = std::min(kOutChunk, dv - c0);
    __mmask16 cm[4];
    __m512 acc[4];
    for (int t = 0; t < 4; ++t) {
      cm[t] = width > 16 * t ? detail::tail_mask(width - 16 * t) : __mmask16(0);
      acc[t] = _mm512_maskz_loadu_ps(cm[t], o + c0 + 16 * t);
      if (rescale) acc[t] = _mm512_mul_ps(acc[t], va);
    }
    for (unsigned bits = live; bits; bits &= bits - 1) {
      const int j = __builtin_ctz(bits);
      const __m512 pb = _mm512_set1_ps(pj[j]);
      const float* vj = v + j * ldv + c0;
      for (int t = 0; t < 4; ++t) acc[t] = _mm512_fmadd_ps(pb, _mm512_maskz_loadu_ps(cm[t], vj + 16 * t), acc[t]);
    }
    for (int t = 0; t < 4; ++t) _mm512_mask_storeu_ps(o + c0 + 16 * t, cm[t], acc[t]);
  }
}

// The online softmax step of one row for one key tile: raw scores s (q . k, unscaled), the lanes
// live so far; m, l and the accumulator row o are the row's running state.
QKV_TARGET_AVX512 inline void update_row(__m512 s, __mmask16 live, __mmask16 in_k, const float* additive, float scale,
                                         float& m, float& l, float* o, const float* v, std::int64_t ldv,
                                         std::int64_t dv) {
  constexpr float kMasked = -__builtin_inff();
  s = _mm512_mul_ps(s, _mm512_set1_ps(scale));
  if (additive) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(in_k, additive));
  live = _mm512_mask_cmp_ps_mask(live, s, _mm512_set1_ps(kMasked), _CMP_NEQ_UQ);  // an additive -inf masks too
  if (!live) return;  // nothing visible: the row's state stays as it is, bit for bit
  const float m_new = std::max(m, _mm512_mask_reduce_max_ps(live, s));
  const bool rescale = m != kMasked && m_new != m;  // before the first visible key O and l are 0
  const float alpha = rescale ? std::exp(m - m_new) : 1.0f;
  m = m_new;
  const __m512 p = _mm512_maskz_mov_ps(live, vmath::exp(_mm512_sub_ps(s, _mm512_set1_ps(m_new))));
  l = l * alpha + _mm512_reduce_add_ps(p);
  accumulate_pv(o, v, ldv, dv, p, live, rescale, alpha);
}

}  // namespace attention_detail

QKV_TARGET_AVX512 inline void attention(const float* q, std::int64_t ldq, const float* k, std::int64_t ldk,
                                        const float* v, std::int64_t ldv, float* out, std::int64_t ldo,
                                        std::int64_t lq, std::int64_t lk, std::int64_t d, std::int64_t dv, float scale,
                                        const AttentionKernelMask& mask) {
  using namespace attention_detail;
  constexpr float kMasked = -__builtin_inff();
  const std::int64_t first = attention_first_key(mask, lk);
  for (std::int64_t i0 = 0; i0 < lq; i0 += kQueryTile) {
    const std::int64_t rows = std::min(kQueryTile, lq - i0);
    float m[kQueryTile], l[kQueryTile];
    std::int64_t end[kQueryTile];
    std::int64_t tiles_end = first;  // the furthest key any row of the tile sees
    for (std::int64_t r = 0; r < rows; ++r) {
      m[r] = kMasked;
      l[r] = 0.0f;
      end[r] = attention_key_end(mask, i0 + r, first, lk);
      tiles_end = std::max(tiles_end, end[r]);
      float* o = out + (i0 + r) * ldo;
      for (std::int64_t c = 0; c < dv; c += 16) _mm512_mask_storeu_ps(o + c, detail::tail_mask(dv - c), _mm512_setzero_ps());
    }
    for (std::int64_t j0 = first; j0 < tiles_end; j0 += kKeyTile) {
      const std::int64_t valid = std::min(kKeyTile, lk - j0);  // keys of this tile that exist
      const __mmask16 in_k = detail::tail_mask(valid);
      const __mmask16 padded = mask.key_padding ? nonzero_bytes(mask.key_padding + j0, in_k) : __mmask16(0);
      const float* kt = k + j0 * ldk;
      const float* vt = v + j0 * ldv;
      // The rows that see some key of this tile, then their scores two rows at a time.
      std::int64_t todo[kQueryTile], count = 0;
      __mmask16 live[kQueryTile];
      for (std::int64_t r = 0; r < rows; ++r) {
        if (j0 >= end[r]) continue;  // past this row's causal limit
        live[r] = __mmask16(detail::tail_mask(end[r] - j0) & ~padded);
        if (mask.blocked) live[r] &= __mmask16(~nonzero_bytes(mask.blocked + (i0 + r) * mask.ld_blocked + j0, in_k));
        if (live[r]) todo[count++] = r;
      }
      for (std::int64_t t = 0; t < count; t += 2) {
        __m512 s[2];
        const std::int64_t pair = std::min<std::int64_t>(2, count - t);
        if (pair == 2)
          dot_tile2(q + (i0 + todo[t]) * ldq, q + (i0 + todo[t + 1]) * ldq, kt, ldk, valid, d, s[0], s[1]);
        else
          s[0] = dot_tile(q + (i0 + todo[t]) * ldq, kt, ldk, valid, d);
        for (std::int64_t u = 0; u < pair; ++u) {
          const std::int64_t r = todo[t + u], i = i0 + r;
          update_row(s[u], live[r], in_k, mask.additive ? mask.additive + i * mask.ld_additive + j0 : nullptr, scale,
                     m[r], l[r], out + i * ldo, vt, ldv, dv);
        }
      }
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      if (l[r] == 0.0f) continue;  // fully masked: the row stays zero
      const __m512 inv = _mm512_set1_ps(1.0f / l[r]);
      float* o = out + (i0 + r) * ldo;
      for (std::int64_t c = 0; c < dv; c += 16) {
        const __mmask16 cm = detail::tail_mask(dv - c);
        _mm512_mask_storeu_ps(o + c, cm, _mm512_mul_ps(_mm512_maskz_loadu_ps(cm, o + c), inv));
      }
    }
  }
}

}  // namespace qkv::kernels::avx512
#endif
