#pragma once
// Polynomial coefficients shared by the AVX2 and AVX-512 vector math (avx2/vector_math.hpp,
// avx512/vector_math.hpp). No intrinsics here, so every ISA reads the same numbers.
//
// Each polynomial was fitted by us: Chebyshev interpolation (mpmath.chebyfit, 40 digits), which
// is within a small factor of the minimax polynomial, then rounded to float. Coefficients are
// listed highest degree first (Horner order). The fit error is the max absolute error over the
// interval before rounding to float; float evaluation adds about 1-2 ulp.
namespace qkv::kernels::poly {

// exp(r) for r in [-ln2/2, ln2/2], degree 6, fit error 2.0e-9. Used after Cody-Waite range
// reduction x = n*ln2 + r, n = round(x/ln2), ln2 split in a float high part and a correction.
inline constexpr float kExp[7] = {1.394110848e-03f, 8.375125937e-03f, 4.166635126e-02f, 1.666641533e-01f,
                                  5.000000000e-01f, 1.000000000e+00f, 1.000000000e+00f};
inline constexpr float kLn2Hi = 6.931471825e-01f;   // float(ln 2)
inline constexpr float kLn2Lo = -1.904654212e-09f;  // ln 2 - kLn2Hi
inline constexpr float kLog2e = 1.442695041e+00f;

// erf(z) / z as a polynomial in s = z^2 for z in [0, 1], degree 6, fit error 1.2e-9.
inline constexpr float kErfSmall[7] = {7.875874871e-05f, -8.016864303e-04f, 5.189087242e-03f, -2.685421146e-02f,
                                       1.128359437e-01f, -3.761262596e-01f, 1.128379107e+00f};

// erfc(z) = exp(-z^2) * Q(t) with t = 1 / (1 + z/2) for z in [1, 4.5] (the variable of Numerical
// Recipes' erfc; Q is smooth in t where it is not in z). Q has degree 6, fit error 1.1e-8, so the
// absolute error of erfc is below 1.1e-8 * exp(-1) = 4e-9. Beyond 4.5 erfc < 3e-10 and only its
// order of magnitude matters (z is clamped for Q, not for exp).
inline constexpr float kErfcLarge[7] = {-6.416977197e-02f, -2.495569363e-02f, 3.631606698e-01f, 1.282226890e-01f,
                                        3.209075928e-01f,  2.755476534e-01f,  4.521061492e-04f};

// tanh(x) / x as a polynomial in s = x^2 for |x| in [0, 0.625], degree 6, fit error 1.4e-10.
// Above 0.625, tanh|x| = (1 - e) / (1 + e) with e = exp(-2|x|) <= 0.29 loses nothing.
inline constexpr float kTanhSmall[7] = {2.127435291e-03f, -8.157853037e-03f, 2.169126458e-02f, -5.394458398e-02f,
                                        1.333318204e-01f, -3.333332837e-01f, 1.000000000e+00f};
inline constexpr float kTanhSmallLimit = 0.625f;

}  // namespace qkv::kernels::poly
