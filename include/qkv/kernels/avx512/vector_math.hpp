#pragma once
// Vector exp / tanh / erf-based GELU / sigmoid-based activations on 16 floats (AVX-512).
// Methods (written for qkv; the coefficients are in kernels/poly_coefficients.hpp):
// - exp: Cody-Waite range reduction x = n*ln2 + r (ln2 in two parts, FMA), a degree-6
//   Chebyshev/near-minimax polynomial for exp(r) on [-ln2/2, ln2/2], and vscalefps for the 2^n
//   scaling (exact, with correct overflow to inf and underflow to 0).
// - tanh: odd polynomial below |x| = 0.625, (1 - e) / (1 + e) with e = exp(-2|x|) above, so large
//   |x| saturates to exactly +-1 and nothing overflows.
// - x * sigmoid(y) (SiLU, and GELU-tanh since 0.5 * (1 + tanh(u)) = sigmoid(2u)): with
//   e = exp(-|y|) <= 1, sigmoid(y) = 1 / (1 + e) for y >= 0 and e / (1 + e) for y < 0.
// - GELU-erf: x * Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2. erf(z) = z * P(z^2) for z < 1; above,
//   erfc(z) = exp(-z^2) * Q(1 / (1 + z/2)), so Phi of a negative x keeps its relative accuracy.
// NaN inputs give NaN outputs (min/max put x second: they return the second operand on NaN).
#include "qkv/kernels/kernel_table.hpp"
#include "qkv/kernels/poly_coefficients.hpp"
#include "qkv/kernels/x86.hpp"

#if QKV_X86_KERNELS
namespace qkv::kernels::avx512::vmath {

QKV_TARGET_AVX512 inline __m512 horner7(__m512 x, const float* c) {
  __m512 p = _mm512_set1_ps(c[0]);
  p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(c[1]));
  p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(c[2]));
  p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(c[3]));
  p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(c[4]));
  p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(c[5]));
  return _mm512_fmadd_ps(p, x, _mm512_set1_ps(c[6]));
}

QKV_TARGET_AVX512 inline __m512 abs(__m512 x) { return _mm512_abs_ps(x); }

QKV_TARGET_AVX512 inline __m512 sign_bit(__m512 x) {
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(int(0x80000000u))));
}

QKV_TARGET_AVX512 inline __m512 or_ps(__m512 a, __m512 b) {
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}

// exp(x) for every float x: -inf and x < -104 give 0, x > 88.73 gives inf, NaN stays NaN.
QKV_TARGET_AVX512 inline __m512 exp(__m512 x) {
  x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
  x = _mm512_max_ps(_mm512_set1_ps(-110.0f), x);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(poly::kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(poly::kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(poly::kLn2Lo), r);
  return _mm512_scalef_ps(horner7(r, poly::kExp), n);
}

QKV_TARGET_AVX512 inline __m512 tanh(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 ax = abs(x);
  const __m512 e = exp(_mm512_mul_ps(ax, _mm512_set1_ps(-2.0f)));
  const __m512 big = or_ps(_mm512_div_ps(_mm512_sub_ps(one, e), _mm512_add_ps(one, e)), sign_bit(x));
  const __m512 small = _mm512_mul_ps(x, horner7(_mm512_mul_ps(x, x), poly::kTanhSmall));
  const __mmask16 is_small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(poly::kTanhSmallLimit), _CMP_LT_OQ);
  return _mm512_mask_mov_ps(big, is_small, small);
}

// x * sigmoid(y).
QKV_TARGET_AVX512 inline __m512 mul_sigmoid(__m512 x, __m512 y) {
  const __m512 e = exp(_mm512_sub_ps(_mm512_setzero_ps(), abs(y)));
  const __mmask16 negative = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_LT_OQ);
  const __m512 num = _mm512_mask_mul_ps(x, negative, x, e);
  return _mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

QKV_TARGET_AVX512 inline __m512 silu(__m512 x) { return mul_sigmoid(x, x); }

QKV_TARGET_AVX512 inline __m512 gelu_tanh(__m512 x) {
  // u = sqrt(2/pi) * (x + 0.044715 x^3); 0.5 x (1 + tanh u) = x * sigmoid(2u).
  const __m512 inner = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), x), _mm512_mul_ps(x, x), x);
  return mul_sigmoid(x, _mm512_mul_ps(inner, _mm512_set1_ps(2.0f * 0.79788456080286536f)));
}

QKV_TARGET_AVX512 inline __m512 gelu_erf(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
  const __m512 z = _mm512_mul_ps(abs(x), _mm512_set1_ps(0.70710678118654752f));
  const __m512 z2 = _mm512_mul_ps(z, z);
  // z < 1: Phi = 0.5 + 0.5 * sign(x) * erf(z).
  const __m512 erf = or_ps(_mm512_mul_ps(z, horner7(z2, poly::kErfSmall)), sign_bit(x));
  const __m512 small = _mm512_mul_ps(x, _mm512_fmadd_ps(half, erf, half));
  // z >= 1: h = erfc(z) / 2; Phi = 1 - h for x >= 0, h for x < 0.
  const __m512 zc = _mm512_min_ps(_mm512_set1_ps(4.5f), _mm512_max_ps(one, z));
  const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(half, zc, one));
  const __m512 h = _mm512_mul_ps(_mm512_mul_ps(half, exp(_mm512_sub_ps(_mm512_setzero_ps(), z2))),
                                 horner7(t, poly::kErfcLarge));
  const __mmask16 negative = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  const __m512 phi = _mm512_mask_mov_ps(_mm512_sub_ps(one, h), negative, h);
  const __m512 large = _mm512_mul_ps(x, phi);
  return _mm512_mask_mov_ps(large, _mm512_cmp_ps_mask(z, one, _CMP_LT_OQ), small);
}

// relu keeps NaN (generic: isnan(x) || x > 0 ? x : 0): keep where !(x <= 0).
QKV_TARGET_AVX512 inline __m512 relu(__m512 x) {
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NLE_UQ), x);
}

QKV_TARGET_AVX512 inline __m512 activation(Activation act, __m512 x) {
  switch (act) {
    case Activation::relu: return relu(x);
    case Activation::gelu_erf: return gelu_erf(x);
    case Activation::gelu_tanh: return gelu_tanh(x);
    case Activation::silu: return silu(x);
    case Activation::tanh: return tanh(x);
  }
  return x;
}

}  // namespace qkv::kernels::avx512::vmath
#endif
