#pragma once
// AVX2 + FMA fused attention of one head (KernelTable::attention): the method of
// avx512/attention.hpp with 16-key tiles (two ymm of scores, so the per-tile max / exp / rescale
// is spread over 16 keys) and 16-query tiles. Online softmax (running max m, running sum l,
// accumulator O in the output rows, rescaled by exp(m_old - m_new) only when the max grows),
// O / l at the end. Per key tile, in phases: the scores of all rows (two rows per key load), the
// softmax steps of all rows (independent, so they overlap), then p v (two rows per v load when
// they keep the same keys; 8 independent accumulator chains either way).
//
// Determinism, as for AVX-512: key tiles start at the first unpadded key; a row's arithmetic does
// not depend on its neighbours in the query tile; a row stops at its causal limit; a tile with no
// visible key leaves the row's state untouched; masked keys get p = +0 and are skipped in p v.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "qkv/kernels/avx2/elementwise.hpp"
#include "qkv/kernels/avx2/vector_math.hpp"
#include "qkv/kernels/kernel_table.hpp"
#include "qkv/kernels/x86.hpp"

#if QKV_X86_KERNELS
namespace qkv::kernels::avx2 {

namespace attention_detail {

constexpr std::int64_t kKeyTile = 16;   // keys per tile: two vectors of scores
constexpr std::int64_t kHalf = 8;       // keys per vector of scores
constexpr std::int64_t kQueryTile = 16;  // rows that reuse a key/value tile (fewer passes over K and V from L2)

// Lane j of the result is the sum of the 8 lanes of a[j] (fixed tree).
QKV_TARGET_AVX2 inline __m256 lane_sums(const __m256* a) {
  __m256 w[4], x[2];
  for (int i = 0; i < 4; ++i)
    w[i] = _mm256_add_ps(_mm256_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm256_unpackhi_ps(a[2 * i], a[2 * i + 1]));
  for (int i = 0; i < 2; ++i)  // per 128-bit lane: partial sums of a[4i .. 4i+3]
    x[i] = _mm256_add_ps(_mm256_shuffle_ps(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm256_shuffle_ps(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  return _mm256_add_ps(_mm256_permute2f128_ps(x[0], x[1], 0x20), _mm256_permute2f128_ps(x[0], x[1], 0x31));
}

// q . k_j for the 8 keys at k; keys from `valid` on read key 0 instead (masked by the caller).
QKV_TARGET_AVX2 inline __m256 dot_tile(const float* q, const float* k, std::int64_t ldk, std::int64_t valid,
                                       std::int64_t d) {
  const float* rows[kHalf];
  for (std::int64_t j = 0; j < kHalf; ++j) rows[j] = k + (j < valid ? j : 0) * ldk;
  __m256 acc[kHalf];
#pragma GCC unroll 8
  for (int j = 0; j < kHalf; ++j) acc[j] = _mm256_setzero_ps();
  std::int64_t p = 0;
  for (; p + 8 <= d; p += 8) {
    const __m256 qv = _mm256_loadu_ps(q + p);
#pragma GCC unroll 8
    for (int j = 0; j < kHalf; ++j) acc[j] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(rows[j] + p), acc[j]);
  }
  if (p < d) {
    const __m256i m = detail::tail_mask(d - p);
    const __m256 qv = _mm256_maskload_ps(q + p, m);
#pragma GCC unroll 8
    for (int j = 0; j < kHalf; ++j) acc[j] = _mm256_fmadd_ps(qv, _mm256_maskload_ps(rows[j] + p, m), acc[j]);
  }
  return lane_sums(acc);
}

// The scores of two query rows against the same 8 keys, each key load shared by both rows: 4 keys
// at a time in 8 accumulators [a . k_0..3, b . k_0..3]. Every (row, key) dot product is the same
// chain of FMAs and the same lane_sums tree (it treats every input vector alike) as in dot_tile,
// so a row's scores have the same bits whether or not it is paired.
QKV_TARGET_AVX2 inline void dot_tile2(const float* qa, const float* qb, const float* k, std::int64_t ldk,
                                      std::int64_t valid, std::int64_t d, __m256& sa, __m256& sb) {
  __m256 half[2];
  for (int h = 0; h < 2; ++h) {
    const float* rows[4];
    for (std::int64_t j = 0; j < 4; ++j) rows[j] = k + (4 * h + j < valid ? 4 * h + j : 0) * ldk;
    __m256 acc[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();
    std::int64_t p = 0;
    for (; p + 8 <= d; p += 8) {
      const __m256 a = _mm256_loadu_ps(qa + p), b = _mm256_loadu_ps(qb + p);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const __m256 kv = _mm256_loadu_ps(rows[j] + p);
        acc[j] = _mm256_fmadd_ps(a, kv, acc[j]);
        acc[4 + j] = _mm256_fmadd_ps(b, kv, acc[4 + j]);
      }
    }
    if (p < d) {
      const __m256i m = detail::tail_mask(d - p);
      const __m256 a = _mm256_maskload_ps(qa + p, m), b = _mm256_maskload_ps(qb + p, m);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const __m256 kv = _mm256_maskload_ps(rows[j] + p, m);
        acc[j] = _mm256_fmadd_ps(a, kv, acc[j]);
        acc[4 + j] = _mm256_fmadd_ps(b, kv, acc[4 + j]);
      }
    }
    half[h] = lane_sums(acc);  // lanes 0..3: row a, keys 4h..4h+3; lanes 4..7: row b
  }
  sa = _mm256_permute2f128_ps(half[0], half[1], 0x20);
  sb = _mm256_permute2f128_ps(half[0], half[1], 0x31);
}

// Bit j set when bytes[j] != 0, for j < valid.
inline unsigned nonzero_bytes(const std::uint8_t* bytes, std::int64_t valid) {
  unsigned bits = 0;
  for (std::int64_t j = 0; j < valid; ++j) bits |= unsigned(bytes[j] != 0) << j;
  return bits;
}

// All-ones lanes where `bits` has its bit set (bits 0..7).
QKV_TARGET_AVX2 inline __m256 lanes_of(unsigned bits) {
  const __m256i select = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  return _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(int(bits)), select), select));
}

// Fixed-order sum of the 8 lanes.
QKV_TARGET_AVX2 inline float reduce_add_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The scores of one row against the 16 keys of a tile: two halves of 8 (the second only when the
// tile has keys there; otherwise its lanes are left zero and masked by the caller).
QKV_TARGET_AVX2 inline void dot_tile16(const float* q, const float* k, std::int64_t ldk, std::int64_t valid,
                                       std::int64_t d, __m256* s) {
  s[0] = dot_tile(q, k, ldk, valid, d);
  s[1] = valid > kHalf ? dot_tile(q, k + kHalf * ldk, ldk, valid - kHalf, d) : _mm256_setzero_ps();
}

QKV_TARGET_AVX2 inline void dot_tile16x2(const float* qa, const float* qb, const float* k, std::int64_t ldk,
                                         std::int64_t valid, std::int64_t d, __m256* sa, __m256* sb) {
  dot_tile2(qa, qb, k, ldk, valid, d, sa[0], sb[0]);
  if (valid > kHalf)
    dot_tile2(qa, qb, k + kHalf * ldk, ldk, valid - kHalf, d, sa[1], sb[1]);
  else
    sa[1] = sb[1] = _mm256_setzero_ps();
}

// o[c0 .. c0 + 8 N) = o * alpha (when rescale) + sum over the live keys j, in order, of p[j] * v_j,
// N vectors held in registers (N independent FMA chains).
template <int N>
QKV_TARGET_AVX2 inline void accumulate_chunk(float* o, const float* v, std::int64_t ldv, const float* pj,
                                             unsigned live, bool rescale, __m256 va) {
  __m256 acc[N];
#pragma GCC unroll 8
  for (int t = 0; t < N; ++t) {
    acc[t] = _mm256_loadu_ps(o + 8 * t);
    if (rescale) acc[t] = _mm256_mul_ps(acc[t], va);
  }
  for (unsigned bits = live; bits; bits &= bits - 1) {
    const int j = __builtin_ctz(bits);
    const __m256 pb = _mm256_broadcast_ss(pj + j);
    const float* vj = v + j * ldv;
#pragma GCC unroll 8
    for (int t = 0; t < N; ++t) acc[t] = _mm256_fmadd_ps(pb, _mm256_loadu_ps(vj + 8 * t), acc[t]);
  }
#pragma GCC unroll 8
  for (int t = 0; t < N; ++t) _mm256_storeu_ps(o + 8 * t, acc[t]);
}

// o = o * alpha (when rescale) + sum over the live keys j, in order, of p[j] * v_j. Each column's
// arithmetic is the same whatever chunk it falls in.
QKV_TARGET_AVX2 inline void accumulate_pv(float* o, const float* v, std::int64_t ldv, std::int64_t dv,
                                          const float* pj, unsigned live, bool rescale, float alpha) {
  const __m256 va = _mm256_set1_ps(alpha);
  std::int64_t c = 0;
  for (; c + 64 <= dv; c += 64) accumulate_chunk<8>(o + c, v + c, ldv, pj, live, rescale, va);
  if (c + 32 <= dv) {
    accumulate_chunk<4>(o + c, v + c, ldv, pj, live, rescale, va);
    c += 32;
  }
  for (; c < dv; c += 8) {  // the tail, one vector at a time
    const __m256i cm = detail::tail_mask(dv - c);
    __m256 acc = _mm256_maskload_ps(o + c, cm);
    if (rescale) acc = _mm256_mul_ps(acc, va);
    for (unsigned bits = live; bits; bits &= bits - 1) {
      const int j = __builtin_ctz(bits);
      acc = _mm256_fmadd_ps(_mm256_broadcast_ss(pj + j), _mm256_maskload_ps(v + j * ldv + c, cm), acc);
    }
    _mm256_maskstore_ps(o + c, cm, acc);
  }
}

// Two rows with the same live keys, each v load shared by both: 32 columns of each row in
// registers. Every column gets the same arithmetic as in accumulate_chunk.
QKV_TARGET_AVX2 inline void accumulate_chunk2(float* oa, float* ob, const float* v, std::int64_t ldv,
                                              const float* pa, const float* pb, unsigned live, bool rescale_a,
                                              bool rescale_b, __m256 va, __m256 vb) {
  __m256 acc_a[4], acc_b[4];
#pragma GCC unroll 4
  for (int t = 0; t < 4; ++t) {
    acc_a[t] = _mm256_loadu_ps(oa + 8 * t);
    acc_b[t] = _mm256_loadu_ps(ob + 8 * t);
    if (rescale_a) acc_a[t] = _mm256_mul_ps(acc_a[t], va);
    if (rescale_b) acc_b[t] = _mm256_mul_ps(acc_b[t], vb);
  }
  for (unsigned bits = live; bits; bits &= bits - 1) {
    const int j = __builtin_ctz(bits);
    const __m256 wa = _mm256_broadcast_ss(pa + j), wb = _mm256_broadcast_ss(pb + j);
    const float* vj = v + j * ldv;
#pragma GCC unroll 4
    for (int t = 0; t < 4; ++t) {
      const __m256 x = _mm256_loadu_ps(vj + 8 * t);
      acc_a[t] = _mm256_fmadd_ps(wa, x, acc_a[t]);
      acc_b[t] = _mm256_fmadd_ps(wb, x, acc_b[t]);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < 4; ++t) {
    _mm256_storeu_ps(oa + 8 * t, acc_a[t]);
    _mm256_storeu_ps(ob + 8 * t, acc_b[t]);
  }
}

// The softmax part of one row's step for one key tile: raw scores s_in[0..1] (q . k, unscaled,
// keys 0..7 and 8..15) and the keys live so far; m is the row's running max, l its running sum
// per lane (keys j and j + 8 of every tile add to lane j; reduced once, at the end).
// Returns the keys still live (0: nothing visible, the row's state is untouched, bit for bit);
// otherwise updates m and l and gives the probabilities pj and the rescale of O.
struct RowStep {
  alignas(32) float pj[kKeyTile];
  bool rescale;
  float alpha;
};

QKV_TARGET_AVX2 inline unsigned softmax_step(const __m256* s_in, unsigned live, std::int64_t valid,
                                             const float* additive, float scale, float& m, __m256& l, RowStep& st) {
  constexpr float kMasked = -__builtin_inff();
  const __m256 ninf = _mm256_set1_ps(kMasked);
  const __m256 vscale = _mm256_set1_ps(scale);
  __m256 s[2];
  for (int h = 0; h < 2; ++h) {
    s[h] = _mm256_mul_ps(s_in[h], vscale);
    if (additive)
      s[h] = _mm256_add_ps(s[h], _mm256_maskload_ps(additive + kHalf * h, detail::tail_mask(valid - kHalf * h)));
    s[h] = _mm256_blendv_ps(ninf, s[h], lanes_of((live >> (kHalf * h)) & 0xffu));
  }
  // The lanes still live: an additive -inf masks too.
  const __m256 visible[2] = {_mm256_cmp_ps(s[0], ninf, _CMP_NEQ_UQ), _mm256_cmp_ps(s[1], ninf, _CMP_NEQ_UQ)};
  live = unsigned(_mm256_movemask_ps(visible[0])) | unsigned(_mm256_movemask_ps(visible[1])) << kHalf;
  if (!live) return 0;
  // Past the first tiles the max rarely grows: one compare then saves the reduction.
  const __m256 tile_max = _mm256_max_ps(s[0], s[1]);
  const bool grows = _mm256_movemask_ps(_mm256_cmp_ps(tile_max, _mm256_set1_ps(m), _CMP_GT_OQ)) != 0;
  const float m_new = grows ? std::max(m, detail::reduce_max_ps(tile_max)) : m;
  st.rescale = m != kMasked && m_new != m;  // before the first visible key O and l are 0
  st.alpha = st.rescale ? std::exp(m - m_new) : 1.0f;
  m = m_new;
  const __m256 vm = _mm256_set1_ps(m_new);
  __m256 p[2];
  for (int h = 0; h < 2; ++h) {
    p[h] = _mm256_and_ps(visible[h], vmath::exp_nonpositive(_mm256_sub_ps(s[h], vm)));
    _mm256_store_ps(st.pj + kHalf * h, p[h]);
  }
  const __m256 p_sum = _mm256_add_ps(p[0], p[1]);
  l = st.rescale ? _mm256_fmadd_ps(l, _mm256_set1_ps(st.alpha), p_sum) : _mm256_add_ps(l, p_sum);
  return live;
}

// O rows += p v for two rows with the same live keys (v loads shared for 32-column chunks; the
// rest as for one row).
QKV_TARGET_AVX2 inline void accumulate_pv2(float* oa, float* ob, const float* v, std::int64_t ldv, std::int64_t dv,
                                           const RowStep& a, const RowStep& b, unsigned live) {
  const __m256 va = _mm256_set1_ps(a.alpha), vb = _mm256_set1_ps(b.alpha);
  std::int64_t c = 0;
  for (; c + 32 <= dv; c += 32)
    accumulate_chunk2(oa + c, ob + c, v + c, ldv, a.pj, b.pj, live, a.rescale, b.rescale, va, vb);
  if (c < dv) {
    accumulate_pv(oa + c, v + c, ldv, dv - c, a.pj, live, a.rescale, a.alpha);
    accumulate_pv(ob + c, v + c, ldv, dv - c, b.pj, live, b.rescale, b.alpha);
  }
}

}  // namespace attention_detail

QKV_TARGET_AVX2 inline void attention(const float* q, std::int64_t ldq, const float* k, std::int64_t ldk,
                                      const float* v, std::int64_t ldv, float* out, std::int64_t ldo, std::int64_t lq,
                                      std::int64_t lk, std::int64_t d, std::int64_t dv, float scale,
                                      const AttentionKernelMask& mask) {
  using namespace attention_detail;
  constexpr float kMasked = -__builtin_inff();
  const std::int64_t first = attention_first_key(mask, lk);
  for (std::int64_t i0 = 0; i0 < lq; i0 += kQueryTile) {
    const std::int64_t rows = std::min(kQueryTile, lq - i0);
    float m[kQueryTile];
    __m256 l[kQueryTile];
    std::int64_t end[kQueryTile];
    std::int64_t tiles_end = first;  // the furthest key any row of the tile sees
    for (std::int64_t r = 0; r < rows; ++r) {
      m[r] = kMasked;
      l[r] = _mm256_setzero_ps();
      end[r] = attention_key_end(mask, i0 + r, first, lk);
      tiles_end = std::max(tiles_end, end[r]);
      std::fill(out + (i0 + r) * ldo, out + (i0 + r) * ldo + dv, 0.0f);
    }
    for (std::int64_t j0 = first; j0 < tiles_end; j0 += kKeyTile) {
      const std::int64_t valid = std::min(kKeyTile, lk - j0);  // keys of this tile that exist
      const unsigned padded = mask.key_padding ? nonzero_bytes(mask.key_padding + j0, valid) : 0u;
      const float* kt = k + j0 * ldk;
      const float* vt = v + j0 * ldv;
      // The rows that see some key of this tile, then their scores two rows at a time.
      std::int64_t todo[kQueryTile], count = 0;
      unsigned live[kQueryTile];
      for (std::int64_t r = 0; r < rows; ++r) {
        if (j0 >= end[r]) continue;  // past this row's causal limit
        live[r] = ((1u << std::min(end[r] - j0, kKeyTile)) - 1u) & ~padded;
        if (mask.blocked) live[r] &= ~nonzero_bytes(mask.blocked + (i0 + r) * mask.ld_blocked + j0, valid);
        if (live[r]) todo[count++] = r;
      }
      // In phases, so that the independent rows' work overlaps: all scores (two rows per key
      // load), all softmax steps, then p v (two rows per v load when they keep the same keys).
      __m256 s[kQueryTile][2];
      for (std::int64_t t = 0; t < count; t += 2) {
        if (t + 1 < count)
          dot_tile16x2(q + (i0 + todo[t]) * ldq, q + (i0 + todo[t + 1]) * ldq, kt, ldk, valid, d, s[t], s[t + 1]);
        else
          dot_tile16(q + (i0 + todo[t]) * ldq, kt, ldk, valid, d, s[t]);
      }
      RowStep st[kQueryTile];
      unsigned seen[kQueryTile];
      for (std::int64_t t = 0; t < count; ++t) {
        const std::int64_t r = todo[t], i = i0 + r;
        seen[t] = softmax_step(s[t], live[r], valid, mask.additive ? mask.additive + i * mask.ld_additive + j0 : nullptr,
                               scale, m[r], l[r], st[t]);
      }
      for (std::int64_t t = 0; t < count;) {
        if (t + 1 < count && seen[t] && seen[t] == seen[t + 1]) {
          accumulate_pv2(out + (i0 + todo[t]) * ldo, out + (i0 + todo[t + 1]) * ldo, vt, ldv, dv, st[t], st[t + 1],
                         seen[t]);
          t += 2;
          continue;
        }
        if (seen[t]) accumulate_pv(out + (i0 + todo[t]) * ldo, vt, ldv, dv, st[t].pj, seen[t], st[t].rescale, st[t].alpha);
        ++t;
      }
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      const float sum = reduce_add_ps(l[r]);
      if (sum == 0.0f) continue;  // fully masked: the row stays zero
      const __m256 inv = _mm256_set1_ps(1.0f / sum);
      float* o = out + (i0 + r) * ldo;
      std::int64_t c = 0;
      for (; c + 8 <= dv; c += 8) _mm256_storeu_ps(o + c, _mm256_mul_ps(_mm256_loadu_ps(o + c), inv));
      if (c < dv) {
        const __m256i cm = detail::tail_mask(dv - c);
        _mm256_maskstore_ps(o + c, cm, _mm256_mul_ps(_mm256_maskload_ps(o + c, cm), inv));
      }
    }
  }
}

}  // namespace qkv::kernels::avx2
#endif
