#pragma once
// Vector exp / tanh / erf-based GELU / sigmoid-based activations on 8 floats (AVX2 + FMA).
// The same methods as avx512/vector_math.hpp (coefficients in kernels/poly_coefficients.hpp):
// - exp (only for x <= 0, which is all qkv needs): Cody-Waite range reduction x = n*ln2 + r
//   (ln2 in two parts, FMA), a degree-6 Chebyshev/near-minimax polynomial for exp(r) on
//   [-ln2/2, ln2/2], 2^n built in the exponent bits; x < -87.34 (2^-126) gives 0, -inf gives 0.
// - tanh: odd polynomial below |x| = 0.625, (1 - e) / (1 + e) with e = exp(-2|x|) above.
// - x * sigmoid(y): e = exp(-|y|), sigmoid = 1 / (1 + e) for y >= 0 and e / (1 + e) for y < 0.
// - GELU-erf: x * Phi(x); erf(z) = z * P(z^2) for z < 1, erfc(z) = exp(-z^2) * Q(1 / (1 + z/2))
//   above.
// NaN inputs give NaN outputs (min/max put x second: they return the second operand on NaN).
#include "qkv/kernels/kernel_table.hpp"
#include "qkv/kernels/poly_coefficients.hpp"
#include "qkv/kernels/x86.hpp"

#if QKV_X86_KERNELS
namespace qkv::kernels::avx2::vmath {

QKV_TARGET_AVX2 inline __m256 horner7(__m256 x, const float* c) {
  __m256 p = _mm256_set1_ps(c[0]);
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(c[1]));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(c[2]));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(c[3]));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(c[4]));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(c[5]));
  return _mm256_fmadd_ps(p, x, _mm256_set1_ps(c[6]));
}

QKV_TARGET_AVX2 inline __m256 sign_bit(__m256 x) { return _mm256_and_ps(x, _mm256_set1_ps(-0.0f)); }
QKV_TARGET_AVX2 inline __m256 abs(__m256 x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }

// exp(x) for x <= 0 (and NaN).
QKV_TARGET_AVX2 inline __m256 exp_nonpositive(__m256 x) {
  const __m256 lowest = _mm256_set1_ps(-87.33654475f);  // ln(2^-126)
  const __m256 xc = _mm256_max_ps(lowest, x);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(poly::kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(poly::kLn2Hi), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(poly::kLn2Lo), r);
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 e = _mm256_mul_ps(horner7(r, poly::kExp), _mm256_castsi256_ps(bits));
  return _mm256_andnot_ps(_mm256_cmp_ps(x, lowest, _CMP_LT_OQ), e);
}

QKV_TARGET_AVX2 inline __m256 tanh(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 ax = abs(x);
  const __m256 e = exp_nonpositive(_mm256_mul_ps(ax, _mm256_set1_ps(-2.0f)));
  const __m256 big = _mm256_or_ps(_mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e)), sign_bit(x));
  const __m256 small = _mm256_mul_ps(x, horner7(_mm256_mul_ps(x, x), poly::kTanhSmall));
  return _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(poly::kTanhSmallLimit), _CMP_LT_OQ));
}

// x * sigmoid(y).
QKV_TARGET_AVX2 inline __m256 mul_sigmoid(__m256 x, __m256 y) {
  const __m256 e = exp_nonpositive(_mm256_sub_ps(_mm256_setzero_ps(), abs(y)));
  const __m256 negative = _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_LT_OQ);
  const __m256 num = _mm256_blendv_ps(x, _mm256_mul_ps(x, e), negative);
  return _mm256_div_ps(num, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

QKV_TARGET_AVX2 inline __m256 silu(__m256 x) { return mul_sigmoid(x, x); }

QKV_TARGET_AVX2 inline __m256 gelu_tanh(__m256 x) {
  // u = sqrt(2/pi) * (x + 0.044715 x^3); 0.5 x (1 + tanh u) = x * sigmoid(2u).
  const __m256 inner = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(0.044715f), x), _mm256_mul_ps(x, x), x);
  return mul_sigmoid(x, _mm256_mul_ps(inner, _mm256_set1_ps(2.0f * 0.79788456080286536f)));
}

QKV_TARGET_AVX2 inline __m256 gelu_erf(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
  const __m256 z = _mm256_mul_ps(abs(x), _mm256_set1_ps(0.70710678118654752f));
  const __m256 z2 = _mm256_mul_ps(z, z);
  // z < 1: Phi = 0.5 + 0.5 * sign(x) * erf(z).
  const __m256 erf = _mm256_or_ps(_mm256_mul_ps(z, horner7(z2, poly::kErfSmall)), sign_bit(x));
  const __m256 small = _mm256_mul_ps(x, _mm256_fmadd_ps(half, erf, half));
  // z >= 1: h = erfc(z) / 2; Phi = 1 - h for x >= 0, h for x < 0.
  const __m256 zc = _mm256_min_ps(_mm256_set1_ps(4.5f), _mm256_max_ps(one, z));
  const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(half, zc, one));
  const __m256 h = _mm256_mul_ps(_mm256_mul_ps(half, exp_nonpositive(_mm256_sub_ps(_mm256_setzero_ps(), z2))),
                                 horner7(t, poly::kErfcLarge));
  const __m256 negative = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
  const __m256 large = _mm256_mul_ps(x, _mm256_blendv_ps(_mm256_sub_ps(one, h), h, negative));
  return _mm256_blendv_ps(large, small, _mm256_cmp_ps(z, one, _CMP_LT_OQ));
}

// relu keeps NaN (generic: isnan(x) || x > 0 ? x : 0): keep where !(x <= 0).
QKV_TARGET_AVX2 inline __m256 relu(__m256 x) {
  return _mm256_and_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NLE_UQ), x);
}

QKV_TARGET_AVX2 inline __m256 activation(Activation act, __m256 x) {
  switch (act) {
    case Activation::relu: return relu(x);
    case Activation::gelu_erf: return gelu_erf(x);
    case Activation::gelu_tanh: return gelu_tanh(x);
    case Activation::silu: return silu(x);
    case Activation::tanh: return tanh(x);
  }
  return x;
}

}  // namespace qkv::kernels::avx2::vmath
#endif
