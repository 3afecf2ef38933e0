#pragma once
// AVX-512 versions of the elementwise kernels of KernelTable (softmax, layer/RMS norm,
// activations, add). Same semantics as kernels/generic.hpp; tails use masked loads and stores,
// so nothing outside [0, n) of a row is touched.
//
// Numerics: every reduction accumulates in double (cvtps_pd), as generic does, so layer norm
// stays exact when |mean| >> std; the elementwise part of layer norm subtracts the mean split in
// two floats (hi + lo), which keeps x - mean accurate to ~2 ulp. Determinism: each row is
// processed alone, and softmax starts its lanes at the first element that is not -inf, so k
// leading masked entries (left padding) do not change the bits of the other probabilities.
#include <cstdint>

#include "qkv/kernels/avx512/vector_math.hpp"
#include "qkv/kernels/kernel_table.hpp"
#include "qkv/kernels/x86.hpp"

#if QKV_X86_KERNELS
namespace qkv::kernels::avx512 {

namespace detail {

// Lanes [0, remaining) of a 16-lane vector, remaining >= 1.
QKV_TARGET_AVX512 inline __mmask16 tail_mask(std::int64_t remaining) {
  return remaining >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << remaining) - 1u);
}

// Adds the 16 floats of v, widened to double, to the two accumulators.
QKV_TARGET_AVX512 inline void accumulate_pd(__m512 v, __m512d& lo, __m512d& hi) {
  lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
  hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
}

// Adds (v - mean)^2 in double for the lanes in `mask`.
QKV_TARGET_AVX512 inline void accumulate_sq_dev(__m512 v, __m512d mean, __mmask16 mask, __m512d& lo, __m512d& hi) {
  const __m512d dlo = _mm512_maskz_sub_pd(__mmask8(mask), _mm512_cvtps_pd(_mm512_castps512_ps256(v)), mean);
  const __m512d dhi = _mm512_maskz_sub_pd(__mmask8(mask >> 8), _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)), mean);
  lo = _mm512_fmadd_pd(dlo, dlo, lo);
  hi = _mm512_fmadd_pd(dhi, dhi, hi);
}

QKV_TARGET_AVX512 inline void softmax_row(float* row, std::int64_t n) {
  const __m512 ninf = _mm512_set1_ps(-__builtin_inff());
  // First element that is not -inf (NaN counts as not -inf).
  std::int64_t start = n;
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __mmask16 live = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, row + i), ninf, _CMP_NEQ_UQ);
    if (live) {
      start = i + __builtin_ctz(live);
      break;
    }
  }
  __m512 vmax = ninf;
  for (std::int64_t i = start; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    vmax = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, m, row + i), vmax);  // ignores NaN, like fmax
  }
  const float max = _mm512_reduce_max_ps(vmax);
  if (max == -__builtin_inff()) {  // fully masked: attend to nothing
    for (std::int64_t i = 0; i < n; i += 16) _mm512_mask_storeu_ps(row + i, tail_mask(n - i), _mm512_setzero_ps());
    return;
  }
  for (std::int64_t i = 0; i < start; i += 16)
    _mm512_mask_storeu_ps(row + i, tail_mask(start - i), _mm512_setzero_ps());
  const __m512 vm = _mm512_set1_ps(max);
  __m512d sum_lo = _mm512_setzero_pd(), sum_hi = _mm512_setzero_pd();
  std::int64_t i = start;
  for (; i + 16 <= n; i += 16) {
    const __m512 e = vmath::exp(_mm512_sub_ps(_mm512_loadu_ps(row + i), vm));
    _mm512_storeu_ps(row + i, e);
    accumulate_pd(e, sum_lo, sum_hi);
  }
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 e = _mm512_maskz_mov_ps(m, vmath::exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + i), vm)));
    _mm512_mask_storeu_ps(row + i, m, e);
    accumulate_pd(e, sum_lo, sum_hi);
  }
  const double sum = _mm512_reduce_add_pd(_mm512_add_pd(sum_lo, sum_hi));
  const __m512 inv = _mm512_set1_ps(float(1.0 / sum));
  for (i = start; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(row + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + i), inv));
  }
}

}  // namespace detail

QKV_TARGET_AVX512 inline void softmax_rows(float* x, std::int64_t rows, std::int64_t n, std::int64_t ld) {
  for (std::int64_t r = 0; r < rows; ++r) detail::softmax_row(x + r * ld, n);
}

QKV_TARGET_AVX512 inline void layer_norm_rows(const float* x, std::int64_t ldx, float* y, std::int64_t ldy,
                                              std::int64_t rows, std::int64_t n, const float* weight,
                                              const float* bias, float eps) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (std::int64_t i = 0; i < n; i += 16)
      detail::accumulate_pd(_mm512_maskz_loadu_ps(detail::tail_mask(n - i), xr + i), lo, hi);
    const double mean = _mm512_reduce_add_pd(_mm512_add_pd(lo, hi)) / double(n);
    const __m512d vmean = _mm512_set1_pd(mean);
    lo = hi = _mm512_setzero_pd();
    for (std::int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = detail::tail_mask(n - i);
      detail::accumulate_sq_dev(_mm512_maskz_loadu_ps(m, xr + i), vmean, m, lo, hi);
    }
    const double var = _mm512_reduce_add_pd(_mm512_add_pd(lo, hi)) / double(n);
    const __m512 rstd = _mm512_set1_ps(float(1.0 / __builtin_sqrt(var + double(eps))));
    const float mean_hi = float(mean);
    const __m512 vmean_hi = _mm512_set1_ps(mean_hi), vmean_lo = _mm512_set1_ps(float(mean - double(mean_hi)));
    for (std::int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = detail::tail_mask(n - i);
      const __m512 d = _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, xr + i), vmean_hi), vmean_lo);
      const __m512 v = _mm512_mul_ps(_mm512_mul_ps(d, rstd), _mm512_maskz_loadu_ps(m, weight + i));
      _mm512_mask_storeu_ps(yr + i, m, bias ? _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + i)) : v);
    }
  }
}

QKV_TARGET_AVX512 inline void rms_norm_rows(const float* x, std::int64_t ldx, float* y, std::int64_t ldy,
                                            std::int64_t rows, std::int64_t n, const float* weight, float eps) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (std::int64_t i = 0; i < n; i += 16) {
      const __m512 v = _mm512_maskz_loadu_ps(detail::tail_mask(n - i), xr + i);
      const __m512d vlo = _mm512_cvtps_pd(_mm512_castps512_ps256(v)), vhi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
      lo = _mm512_fmadd_pd(vlo, vlo, lo);
      hi = _mm512_fmadd_pd(vhi, vhi, hi);
    }
    const double sum_sq = _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
    const __m512 rstd = _mm512_set1_ps(float(1.0 / __builtin_sqrt(sum_sq / double(n) + double(eps))));
    for (std::int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = detail::tail_mask(n - i);
      const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, xr + i), rstd);
      _mm512_mask_storeu_ps(yr + i, m, _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, weight + i)));
    }
  }
}

QKV_TARGET_AVX512 inline void activate(Activation act, float* x, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, vmath::activation(act, _mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = detail::tail_mask(n - i);
    _mm512_mask_storeu_ps(x + i, m, vmath::activation(act, _mm512_maskz_loadu_ps(m, x + i)));
  }
}

QKV_TARGET_AVX512 inline void activate_gated(Activation act, const float* gate, const float* up, float* out,
                                             std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, _mm512_mul_ps(vmath::activation(act, _mm512_loadu_ps(gate + i)), _mm512_loadu_ps(up + i)));
  if (i < n) {
    const __mmask16 m = detail::tail_mask(n - i);
    const __m512 g = vmath::activation(act, _mm512_maskz_loadu_ps(m, gate + i));
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(g, _mm512_maskz_loadu_ps(m, up + i)));
  }
}

QKV_TARGET_AVX512 inline void add(const float* a, const float* b, float* out, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, _mm512_add_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
  if (i < n) {
    const __mmask16 m = detail::tail_mask(n - i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
  }
}

// Rotary embedding (KernelTable::rotary_rows). Bitwise equal to generic: two products and one sum,
// each rounded to float. GCC implements _mm512_mul_ps / _mm512_add_ps as plain vector `*` and `+`,
// which -ffp-contract=fast (GCC's default outside ISO modes) may fuse into an FMA inside this
// FMA-enabled function; the empty asm makes each product an opaque value, so nothing is fused.
QKV_TARGET_AVX512 inline __m512 rounded_product(__m512 a, __m512 b) {
  __m512 p = _mm512_mul_ps(a, b);
  asm("" : "+v"(p));
  return p;
}

QKV_TARGET_AVX512 inline void rotary_rows(float* x, std::int64_t ldx, const float* cos, std::int64_t ldc,
                                          const float* sin, std::int64_t lds, std::int64_t rows, std::int64_t n) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * ldx;
    for (std::int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = detail::tail_mask(n - i);
      const __m512 a = _mm512_maskz_loadu_ps(m, row + i), b = _mm512_maskz_loadu_ps(m, row + i + n);
      const __m512 c = _mm512_maskz_loadu_ps(m, cos + r * ldc + i), s = _mm512_maskz_loadu_ps(m, sin + r * lds + i);
      const __m512 neg_b = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(b), _mm512_castps_si512(sign)));
      _mm512_mask_storeu_ps(row + i, m, _mm512_add_ps(rounded_product(a, c), rounded_product(neg_b, s)));
      _mm512_mask_storeu_ps(row + i + n, m, _mm512_add_ps(rounded_product(b, c), rounded_product(a, s)));
    }
  }
}

}  // namespace qkv::kernels::avx512
#endif
