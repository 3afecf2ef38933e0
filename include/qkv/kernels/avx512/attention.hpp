#pragma once
// AVX-512 fused attention of one head (KernelTable::attention): tiles of 8 queries against tiles of
// 16 keys with an online softmax (running max m, running sum l, accumulator O rescaled by
// exp(m_old - m_new) when the max grows), so the [lq, lk] scores never exist. O lives in the
// output rows (any dv without a heap buffer); the last step divides each row by its l.
//
// Scores: for one query row and 16 keys, 16 accumulators of q[p:p+16] * k_j[p:p+16] over d, then
// one fixed transpose-and-add tree turns them into a vector of 16 dot products. Every key is its
// own lane, so the tree never mixes keys. Rows are scored four at a time (each key load shared by
// four rows), and rows that see the same keys add p v together (each v load shared): grouping
// saves loads without changing any row's operations. Non-causal prefill of 512 keys went from 39
// to ~60 GFLOP/s (one core, d = 64).
//
// Prefill (16+ query rows, d a multiple of 16) first transposes the keys, 16 at a time, and scores
// outer products instead (dot_tile_transposed): the same sums, bit for bit, without the shuffles
// of the tree, so decode (one row, no transpose) keeps giving the bits a longer prefill gives.
//
// Determinism (batch padding must not change a sequence's bits): key tiles start at the first
// unpadded key; each row's arithmetic is the same whatever rows share its query tile; a row stops
// at its causal limit; a tile with no visible key leaves the row's state untouched; masked keys
// get p = +0 in the sums and are skipped in the p v accumulation (so no 0 * v, no -0 + 0).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "qkv/kernels/avx2/pack.hpp"
#include "qkv/kernels/avx512/elementwise.hpp"
#include "qkv/kernels/avx512/vector_math.hpp"
#include "qkv/kernels/kernel_table.hpp"
#include "qkv/kernels/packing.hpp"
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

// The scores of four query rows against the same 16 keys: 4 keys at a time in 16 accumulators
// [row r . key q at r * 4 + q], so each key load feeds 4 rows and each query load 4 keys. Every
// (row, key) product is the chain of dot_tile and goes through the same lane_sums tree, so the
// bits do not depend on the grouping; a 128-bit block transpose then gives one vector per row.
QKV_TARGET_AVX512 inline void dot_tile4(const float* const* qs, const float* k, std::int64_t ldk, std::int64_t valid,
                                        std::int64_t d, __m512* s) {
  __m512 quad[4];
  for (int t = 0; t < 4; ++t) {
    const float* rows[4];
    for (std::int64_t j = 0; j < 4; ++j) rows[j] = k + (4 * t + j < valid ? 4 * t + j : 0) * ldk;
    __m512 acc[16];
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
    for (std::int64_t p = 0; p < d; p += 16) {
      const __mmask16 m = detail::tail_mask(d - p);
      __m512 qv[4];
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) qv[r] = _mm512_maskz_loadu_ps(m, qs[r] + p);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const __m512 kv = _mm512_maskz_loadu_ps(m, rows[j] + p);
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) acc[r * 4 + j] = _mm512_fmadd_ps(qv[r], kv, acc[r * 4 + j]);
      }
    }
    quad[t] = lane_sums(acc);  // 128-bit block r: row r, keys 4t .. 4t+3
  }
  const __m512 lo01 = _mm512_shuffle_f32x4(quad[0], quad[1], _MM_SHUFFLE(1, 0, 1, 0));
  const __m512 lo23 = _mm512_shuffle_f32x4(quad[2], quad[3], _MM_SHUFFLE(1, 0, 1, 0));
  const __m512 hi01 = _mm512_shuffle_f32x4(quad[0], quad[1], _MM_SHUFFLE(3, 2, 3, 2));
  const __m512 hi23 = _mm512_shuffle_f32x4(quad[2], quad[3], _MM_SHUFFLE(3, 2, 3, 2));
  s[0] = _mm512_shuffle_f32x4(lo01, lo23, _MM_SHUFFLE(2, 0, 2, 0));
  s[1] = _mm512_shuffle_f32x4(lo01, lo23, _MM_SHUFFLE(3, 1, 3, 1));
  s[2] = _mm512_shuffle_f32x4(hi01, hi23, _MM_SHUFFLE(2, 0, 2, 0));
  s[3] = _mm512_shuffle_f32x4(hi01, hi23, _MM_SHUFFLE(3, 1, 3, 1));
}

// Query rows from which prefill transposes the keys (the transpose costs about what scoring 1-2
// rows against them does).
constexpr std::int64_t kTransposeRows = 16;

// The scores of R query rows against 16 keys transposed (kt: d rows of 16 keys, d a multiple of
// 16), with dot_tile's sums: its lane l (terms p = l, l + 16, ... in order) is a vector over the
// keys here, and lane_sums' tree, ((l0 + l2) + (l1 + l3)) per group of 4 lanes, then (g0 + g1) +
// (g2 + g3), the same tree of vector adds. One group of 4 lanes at a time: 4R chains in flight,
// each key load feeding R rows.
template <int R>
QKV_TARGET_AVX512 inline void dot_tile_transposed(const float* const* qs, const float* kt, std::int64_t d,
                                                  __m512* s) {
  __m512 first_pair[R], third[R];  // g0 + g1, then g2
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    __m512 acc[R][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int l = 0; l < 4; ++l) acc[r][l] = _mm512_setzero_ps();
    for (std::int64_t c = 4 * g; c < d; c += 16) {
#pragma GCC unroll 4
      for (int l = 0; l < 4; ++l) {
        const __m512 keys = _mm512_load_ps(kt + (c + l) * kKeyTile);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) acc[r][l] = _mm512_fmadd_ps(_mm512_set1_ps(qs[r][c + l]), keys, acc[r][l]);
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 group = _mm512_add_ps(_mm512_add_ps(acc[r][0], acc[r][2]), _mm512_add_ps(acc[r][1], acc[r][3]));
      if (g == 0) first_pair[r] = group;
      else if (g == 1) first_pair[r] = _mm512_add_ps(first_pair[r], group);
      else if (g == 2) third[r] = group;
      else s[r] = _mm512_add_ps(first_pair[r], _mm512_add_ps(third[r], group));
    }
  }
}

QKV_TARGET_AVX512 inline void dot_tile_transposed_rows(std::int64_t rows, const float* const* qs, const float* kt,
                                                       std::int64_t d, __m512* s) {
  switch (rows) {
    case 1: return dot_tile_transposed<1>(qs, kt, d, s);
    case 2: return dot_tile_transposed<2>(qs, kt, d, s);
    case 3: return dot_tile_transposed<3>(qs, kt, d, s);
    default: return dot_tile_transposed<4>(qs, kt, d, s);
  }
}

// Nonzero bytes among the first lanes of `in` as a lane mask.
QKV_TARGET_AVX512 inline __mmask16 nonzero_bytes(const std::uint8_t* bytes, __mmask16 in) {
  const __m128i b = _mm_maskz_loadu_epi8(in, bytes);
  return _mm_mask_test_epi8_mask(in, b, b);
}

// One row's online-softmax step for one key tile, before its p v update: the row's live keys,
// its probabilities p (relative to the new running max) and the factor its accumulator is
// rescaled by (when `rescale`).
struct RowStep {
  __mmask16 live;
  bool rescale;
  float alpha;
  alignas(64) float p[kKeyTile];
};

// Raw scores s (q . k, unscaled) and the lanes live so far -> the row's step; m is the row's
// running max, l its running sum per lane (key j of every tile adds to lane j; reduced once, at
// the end, rather than per tile). Returns false when no key of the tile is visible: the row's
// state then stays as it is, bit for bit.
QKV_TARGET_AVX512 inline bool softmax_step(__m512 s, __mmask16 live, __mmask16 in_k, const float* additive, float scale,
                                           float& m, __m512& l, RowStep& step) {
  constexpr float kMasked = -__builtin_inff();
  s = _mm512_mul_ps(s, _mm512_set1_ps(scale));
  if (additive) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(in_k, additive));
  live = _mm512_mask_cmp_ps_mask(live, s, _mm512_set1_ps(kMasked), _CMP_NEQ_UQ);  // an additive -inf masks too
  if (!live) return false;
  // Past the first tiles the max rarely grows: one compare then saves the reduction.
  const bool grows = _mm512_mask_cmp_ps_mask(live, s, _mm512_set1_ps(m), _CMP_GT_OQ) != 0;
  const float m_new = grows ? std::max(m, _mm512_mask_reduce_max_ps(live, s)) : m;
  step.live = live;
  step.rescale = m != kMasked && m_new != m;  // before the first visible key O and l are 0
  step.alpha = step.rescale ? std::exp(m - m_new) : 1.0f;
  m = m_new;
  const __m512 p = _mm512_maskz_mov_ps(live, vmath::exp(_mm512_sub_ps(s, _mm512_set1_ps(m_new))));
  l = step.rescale ? _mm512_fmadd_ps(l, _mm512_set1_ps(step.alpha), p) : _mm512_add_ps(l, p);
  _mm512_store_ps(step.p, p);
  return true;
}

// For R rows that see the same keys (`live`): o_r = o_r * alpha_r (when rescale) + the sum over
// the live keys j, in order, of p_r[j] * v_j, 16 output columns at a time with each v load shared
// by the R rows. Per row this is the same sequence of operations whatever R is, so grouping never
// changes a bit; masked keys are skipped (their v may be padding, even NaN).
template <int R>
QKV_TARGET_AVX512 inline void accumulate_pv(float* const* o, const RowStep* const* steps, __mmask16 live,
                                            const float* v, std::int64_t ldv, std::int64_t dv) {
  for (std::int64_t c = 0; c < dv; c += 16) {
    const __mmask16 cm = detail::tail_mask(dv - c);
    __m512 acc[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      acc[r] = _mm512_maskz_loadu_ps(cm, o[r] + c);
      if (steps[r]->rescale) acc[r] = _mm512_mul_ps(acc[r], _mm512_set1_ps(steps[r]->alpha));
    }
    if (live == 0xFFFF) {  // every key: no bit scan per key
      const float* vc = v + c;
#pragma GCC unroll 16
      for (int j = 0; j < kKeyTile; ++j, vc += ldv) {
        const __m512 vj = _mm512_maskz_loadu_ps(cm, vc);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(steps[r]->p[j]), vj, acc[r]);
      }
    } else {
      for (unsigned bits = live; bits; bits &= bits - 1) {
        const int j = __builtin_ctz(bits);
        const __m512 vj = _mm512_maskz_loadu_ps(cm, v + j * ldv + c);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(steps[r]->p[j]), vj, acc[r]);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) _mm512_mask_storeu_ps(o[r] + c, cm, acc[r]);
  }
}

QKV_TARGET_AVX512 inline void accumulate_pv_rows(int rows, float* const* o, const RowStep* const* steps,
                                                 __mmask16 live, const float* v, std::int64_t ldv, std::int64_t dv) {
  switch (rows) {
    case 1: return accumulate_pv<1>(o, steps, live, v, ldv, dv);
    case 2: return accumulate_pv<2>(o, steps, live, v, ldv, dv);
    case 3: return accumulate_pv<3>(o, steps, live, v, ldv, dv);
    case 4: return accumulate_pv<4>(o, steps, live, v, ldv, dv);
    case 5: return accumulate_pv<5>(o, steps, live, v, ldv, dv);
    case 6: return accumulate_pv<6>(o, steps, live, v, ldv, dv);
    case 7: return accumulate_pv<7>(o, steps, live, v, ldv, dv);
    default: return accumulate_pv<8>(o, steps, live, v, ldv, dv);
  }
}

}  // namespace attention_detail

QKV_TARGET_AVX512 inline void attention(const float* q, std::int64_t ldq, const float* k, std::int64_t ldk,
                                        const float* v, std::int64_t ldv, float* out, std::int64_t ldo,
                                        std::int64_t lq, std::int64_t lk, std::int64_t d, std::int64_t dv, float scale,
                                        const AttentionKernelMask& mask) {
  using namespace attention_detail;
  constexpr float kMasked = -__builtin_inff();
  const std::int64_t first = attention_first_key(mask, lk);
  // Keys [first, lk) as tiles of 16 transposed (d x 16 each, zero past lk), for prefill.
  float* kt = nullptr;
  if (lq >= kTransposeRows && d % 16 == 0 && first < lk) {
    const std::int64_t n = lk - first, tiles = (n + kKeyTile - 1) / kKeyTile;
    kt = thread_scratch<Scratch::transposed_keys>(tiles * kKeyTile * d);
    std::fill(kt + (tiles - 1) * kKeyTile * d, kt + tiles * kKeyTile * d, 0.0f);
    avx2::pack_row_tiles(k + first * ldk, ldk, n, d, kKeyTile, kt);
  }
  for (std::int64_t i0 = 0; i0 < lq; i0 += kQueryTile) {
    const std::int64_t rows = std::min(kQueryTile, lq - i0);
    float m[kQueryTile];
    __m512 l[kQueryTile];
    std::int64_t end[kQueryTile];
    std::int64_t tiles_end = first;  // the furthest key any row of the tile sees
    for (std::int64_t r = 0; r < rows; ++r) {
      m[r] = kMasked;
      l[r] = _mm512_setzero_ps();
      end[r] = attention_key_end(mask, i0 + r, first, lk);
      tiles_end = std::max(tiles_end, end[r]);
      float* o = out + (i0 + r) * ldo;
      for (std::int64_t c = 0; c < dv; c += 16) _mm512_mask_storeu_ps(o + c, detail::tail_mask(dv - c), _mm512_setzero_ps());
    }
    for (std::int64_t j0 = first; j0 < tiles_end; j0 += kKeyTile) {
      const std::int64_t valid = std::min(kKeyTile, lk - j0);  // keys of this tile that exist
      const __mmask16 in_k = detail::tail_mask(valid);
      const __mmask16 padded = mask.key_padding ? nonzero_bytes(mask.key_padding + j0, in_k) : __mmask16(0);
      const float* keys = k + j0 * ldk;
      const float* vt = v + j0 * ldv;
      // The rows that see some key of this tile.
      std::int64_t todo[kQueryTile], count = 0, step_row[kQueryTile];
      __mmask16 live[kQueryTile];
      RowStep steps[kQueryTile];
      for (std::int64_t r = 0; r < rows; ++r) {
        if (j0 >= end[r]) continue;  // past this row's causal limit
        live[r] = __mmask16(detail::tail_mask(end[r] - j0) & ~padded);
        if (mask.blocked) live[r] &= __mmask16(~nonzero_bytes(mask.blocked + (i0 + r) * mask.ld_blocked + j0, in_k));
        if (live[r]) todo[count++] = r;
      }
      // Scores four rows at a time (without transposed keys, the last 1-3 rows one by one), then
      // each row's softmax step.
      __m512 s[kQueryTile];
      std::int64_t t = 0;
      if (kt) {
        for (; t < count; t += 4) {
          const float* qs[4];
          for (std::int64_t u = 0; u < std::min<std::int64_t>(4, count - t); ++u) qs[u] = q + (i0 + todo[t + u]) * ldq;
          dot_tile_transposed_rows(count - t, qs, kt + (j0 - first) * d, d, s + t);
        }
      }
      for (; t + 4 <= count; t += 4) {
        const float* qs[4];
        for (std::int64_t u = 0; u < 4; ++u) qs[u] = q + (i0 + todo[t + u]) * ldq;
        dot_tile4(qs, keys, ldk, valid, d, s + t);
      }
      for (; t < count; ++t) s[t] = dot_tile(q + (i0 + todo[t]) * ldq, keys, ldk, valid, d);
      std::int64_t stepped = 0;
      for (std::int64_t t = 0; t < count; ++t) {
        const std::int64_t r = todo[t], i = i0 + r;
        if (softmax_step(s[t], live[r], in_k, mask.additive ? mask.additive + i * mask.ld_additive + j0 : nullptr,
                         scale, m[r], l[r], steps[stepped]))
          step_row[stepped++] = r;
      }
      // p v for rows that see the same keys together (all of them, away from the causal diagonal
      // and without per-row masks), each other row alone.
      while (stepped > 0) {
        const __mmask16 keys = steps[0].live;
        float* o[kQueryTile];
        const RowStep* group[kQueryTile];
        int n = 0;
        for (std::int64_t t = 0; t < stepped; ++t)
          if (steps[t].live == keys) {
            o[n] = out + (i0 + step_row[t]) * ldo;
            group[n++] = &steps[t];
          }
        accumulate_pv_rows(n, o, group, keys, vt, ldv, dv);
        // The rows just done leave the list (the others keep their order).
        std::int64_t kept = 0;
        for (std::int64_t t = 0; t < stepped; ++t)
          if (steps[t].live != keys) {
            steps[kept] = steps[t];
            step_row[kept++] = step_row[t];
          }
        stepped = kept;
      }
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      const float sum = _mm512_reduce_add_ps(l[r]);
      if (sum == 0.0f) continue;  // fully masked: the row stays zero
      const __m512 inv = _mm512_set1_ps(1.0f / sum);
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
