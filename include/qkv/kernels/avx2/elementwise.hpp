#pragma once
// AVX2 + FMA versions of the elementwise kernels of KernelTable (softmax, layer/RMS norm,
// activations, add). Same semantics as kernels/generic.hpp; tails use maskload/maskstore (or a
// scalar loop for reductions), so nothing outside [0, n) of a row is touched.
//
// Numerics: reductions accumulate in double (cvtps_pd), as generic does; layer norm subtracts the
// mean split in two floats (hi + lo). Determinism: each row is processed alone, and softmax starts
// its lanes at the first element that is not -inf, so k leading masked entries (left padding)
// do not change the bits of the other probabilities.
#include <cstdint>

#include "qkv/kernels/avx2/vector_math.hpp"
#include "qkv/kernels/kernel_table.hpp"
#include "qkv/kernels/x86.hpp"

#if QKV_X86_KERNELS
namespace qkv::kernels::avx2 {

namespace detail {

// All-ones in lanes [0, remaining) of 8, for maskload/maskstore; 1 <= remaining.
QKV_TARGET_AVX2 inline __m256i tail_mask(std::int64_t remaining) {
  const int r = remaining >= 8 ? 8 : int(remaining);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

QKV_TARGET_AVX2 inline void accumulate_pd(__m256 v, __m256d& lo, __m256d& hi) {
  lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

// Fixed-order sum of the 4 lanes of lo + hi.
QKV_TARGET_AVX2 inline double reduce_pd(__m256d lo, __m256d hi) {
  const __m256d s = _mm256_add_pd(lo, hi);
  const __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
}

QKV_TARGET_AVX2 inline float reduce_max_ps(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

QKV_TARGET_AVX2 inline void softmax_row(float* row, std::int64_t n) {
  const __m256 ninf = _mm256_set1_ps(-__builtin_inff());
  // First element that is not -inf (NaN counts as not -inf).
  std::int64_t start = n;
  for (std::int64_t i = 0; i < n; i += 8) {
    const std::int64_t rem = n - i;
    const int valid = rem >= 8 ? 0xFF : (1 << rem) - 1;
    const __m256 v = _mm256_maskload_ps(row + i, tail_mask(rem));
    const int live = _mm256_movemask_ps(_mm256_cmp_ps(v, ninf, _CMP_NEQ_UQ)) & valid;
    if (live) {
      start = i + __builtin_ctz(unsigned(live));
      break;
    }
  }
  __m256 vmax = ninf;
  std::int64_t i = start;
  for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(_mm256_loadu_ps(row + i), vmax);  // ignores NaN, like fmax
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    vmax = _mm256_max_ps(_mm256_blendv_ps(ninf, _mm256_maskload_ps(row + i, m), _mm256_castsi256_ps(m)), vmax);
  }
  const float max = reduce_max_ps(vmax);
  if (max == -__builtin_inff()) {  // fully masked: attend to nothing
    for (i = 0; i < n; i += 8) _mm256_maskstore_ps(row + i, tail_mask(n - i), _mm256_setzero_ps());
    return;
  }
  for (i = 0; i < start; i += 8) _mm256_maskstore_ps(row + i, tail_mask(start - i), _mm256_setzero_ps());
  const __m256 vm = _mm256_set1_ps(max);
  __m256d sum_lo = _mm256_setzero_pd(), sum_hi = _mm256_setzero_pd();
  for (i = start; i + 8 <= n; i += 8) {
    const __m256 e = vmath::exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(row + i), vm));
    _mm256_storeu_ps(row + i, e);
    accumulate_pd(e, sum_lo, sum_hi);
  }
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    const __m256 e = _mm256_and_ps(_mm256_castsi256_ps(m),
                                   vmath::exp_nonpositive(_mm256_sub_ps(_mm256_maskload_ps(row + i, m), vm)));
    _mm256_maskstore_ps(row + i, m, e);
    accumulate_pd(e, sum_lo, sum_hi);
  }
  const __m256 inv = _mm256_set1_ps(float(1.0 / reduce_pd(sum_lo, sum_hi)));
  for (i = start; i + 8 <= n; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), inv));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    _mm256_maskstore_ps(row + i, m, _mm256_mul_ps(_mm256_maskload_ps(row + i, m), inv));
  }
}

}  // namespace detail

QKV_TARGET_AVX2 inline void softmax_rows(float* x, std::int64_t rows, std::int64_t n, std::int64_t ld) {
  for (std::int64_t r = 0; r < rows; ++r) detail::softmax_row(x + r * ld, n);
}

QKV_TARGET_AVX2 inline void layer_norm_rows(const float* x, std::int64_t ldx, float* y, std::int64_t ldy,
                                            std::int64_t rows, std::int64_t n, const float* weight, const float* bias,
                                            float eps) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) detail::accumulate_pd(_mm256_loadu_ps(xr + i), lo, hi);
    if (i < n) detail::accumulate_pd(_mm256_maskload_ps(xr + i, detail::tail_mask(n - i)), lo, hi);
    const double mean = detail::reduce_pd(lo, hi) / double(n);
    const __m256d vmean = _mm256_set1_pd(mean);
    lo = hi = _mm256_setzero_pd();
    for (i = 0; i + 8 <= n; i += 8) {
      const __m256 v = _mm256_loadu_ps(xr + i);
      const __m256d dlo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), vmean);
      const __m256d dhi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), vmean);
      lo = _mm256_fmadd_pd(dlo, dlo, lo);
      hi = _mm256_fmadd_pd(dhi, dhi, hi);
    }
    double tail = 0.0;
    for (; i < n; ++i) tail += (double(xr[i]) - mean) * (double(xr[i]) - mean);
    const double var = (detail::reduce_pd(lo, hi) + tail) / double(n);
    const __m256 rstd = _mm256_set1_ps(float(1.0 / __builtin_sqrt(var + double(eps))));
    const float mean_hi = float(mean);
    const __m256 vmean_hi = _mm256_set1_ps(mean_hi), vmean_lo = _mm256_set1_ps(float(mean - double(mean_hi)));
    for (i = 0; i + 8 <= n; i += 8) {
      const __m256 d = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vmean_hi), vmean_lo);
      __m256 v = _mm256_mul_ps(_mm256_mul_ps(d, rstd), _mm256_loadu_ps(weight + i));
      if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + i));
      _mm256_storeu_ps(yr + i, v);
    }
    if (i < n) {
      const __m256i m = detail::tail_mask(n - i);
      const __m256 d = _mm256_sub_ps(_mm256_sub_ps(_mm256_maskload_ps(xr + i, m), vmean_hi), vmean_lo);
      __m256 v = _mm256_mul_ps(_mm256_mul_ps(d, rstd), _mm256_maskload_ps(weight + i, m));
      if (bias) v = _mm256_add_ps(v, _mm256_maskload_ps(bias + i, m));
      _mm256_maskstore_ps(yr + i, m, v);
    }
  }
}

QKV_TARGET_AVX2 inline void rms_norm_rows(const float* x, std::int64_t ldx, float* y, std::int64_t ldy,
                                          std::int64_t rows, std::int64_t n, const float* weight, float eps) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const __m256 v = _mm256_loadu_ps(xr + i);
      const __m256d vlo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), vhi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
      lo = _mm256_fmadd_pd(vlo, vlo, lo);
      hi = _mm256_fmadd_pd(vhi, vhi, hi);
    }
    double tail = 0.0;
    for (std::int64_t j = i; j < n; ++j) tail += double(xr[j]) * double(xr[j]);
    const double sum_sq = detail::reduce_pd(lo, hi) + tail;
    const __m256 rstd = _mm256_set1_ps(float(1.0 / __builtin_sqrt(sum_sq / double(n) + double(eps))));
    for (i = 0; i + 8 <= n; i += 8)
      _mm256_storeu_ps(yr + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xr + i), rstd), _mm256_loadu_ps(weight + i)));
    if (i < n) {
      const __m256i m = detail::tail_mask(n - i);
      const __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_maskload_ps(xr + i, m), rstd), _mm256_maskload_ps(weight + i, m));
      _mm256_maskstore_ps(yr + i, m, v);
    }
  }
}

QKV_TARGET_AVX2 inline void activate(Activation act, float* x, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, vmath::activation(act, _mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = detail::tail_mask(n - i);
    _mm256_maskstore_ps(x + i, m, vmath::activation(act, _mm256_maskload_ps(x + i, m)));
  }
}

QKV_TARGET_AVX2 inline void activate_gated(Activation act, const float* gate, const float* up, float* out,
                                           std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_mul_ps(vmath::activation(act, _mm256_loadu_ps(gate + i)), _mm256_loadu_ps(up + i)));
  if (i < n) {
    const __m256i m = detail::tail_mask(n - i);
    const __m256 g = vmath::activation(act, _mm256_maskload_ps(gate + i, m));
    _mm256_maskstore_ps(out + i, m, _mm256_mul_ps(g, _mm256_maskload_ps(up + i, m)));
  }
}

QKV_TARGET_AVX2 inline void add(const float* a, const float* b, float* out, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  if (i < n) {
    const __m256i m = detail::tail_mask(n - i);
    _mm256_maskstore_ps(out + i, m, _mm256_add_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m)));
  }
}

// Rotary embedding (KernelTable::rotary_rows). Bitwise equal to generic: two products and one sum,
// each rounded to float. GCC implements _mm256_mul_ps / _mm256_add_ps as plain vector `*` and `+`,
// which -ffp-contract=fast (GCC's default outside ISO modes) may fuse into an FMA inside this
// FMA-enabled function; the empty asm makes each product an opaque value, so nothing is fused.
QKV_TARGET_AVX2 inline __m256 rounded_product(__m256 a, __m256 b) {
  __m256 p = _mm256_mul_ps(a, b);
  asm("" : "+x"(p));
  return p;
}

QKV_TARGET_AVX2 inline void rotary_rows(float* x, std::int64_t ldx, const float* cos, std::int64_t ldc,
                                        const float* sin, std::int64_t lds, std::int64_t rows, std::int64_t n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * ldx;
    for (std::int64_t i = 0; i < n; i += 8) {
      const __m256i m = detail::tail_mask(n - i);
      const __m256 a = _mm256_maskload_ps(row + i, m), b = _mm256_maskload_ps(row + i + n, m);
      const __m256 c = _mm256_maskload_ps(cos + r * ldc + i, m), s = _mm256_maskload_ps(sin + r * lds + i, m);
      const __m256 neg_b = _mm256_xor_ps(b, sign);
      _mm256_maskstore_ps(row + i, m, _mm256_add_ps(rounded_product(a, c), rounded_product(neg_b, s)));
      _mm256_maskstore_ps(row + i + n, m, _mm256_add_ps(rounded_product(b, c), rounded_product(a, s)));
    }
  }
}

}  // namespace qkv::kernels::avx2
#endif
