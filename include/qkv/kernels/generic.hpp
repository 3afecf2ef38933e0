#pragma once
// The portable kernels: plain loops in a fixed order. They define the results every faster ISA is
// tested against, so their reductions accumulate in double: float32 inputs and outputs, with
// sums accurate to the last bit even at K = 1000+ with cancellation (a sequential float sum is
// not). Scalar double arithmetic costs the same as scalar float here.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "qkv/kernels/kernel_table.hpp"
#include "qkv/kernels/packing.hpp"

namespace qkv::kernels::generic {

inline void matmul_nt(const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c, std::int64_t ldc,
                      std::int64_t m, std::int64_t n, std::int64_t k, const float* bias) {
  for (std::int64_t i = 0; i < m; ++i) {
    const float* ai = a + i * lda;
    for (std::int64_t j = 0; j < n; ++j) {
      const float* bj = b + j * ldb;
      double sum = bias ? double(bias[j]) : 0.0;
      for (std::int64_t p = 0; p < k; ++p) sum += double(ai[p]) * double(bj[p]);
      c[i * ldc + j] = float(sum);
    }
  }
}

inline void matmul_packed(const float* a, std::int64_t lda, const float* packed, float* c, std::int64_t ldc, std::int64_t m,
                          std::int64_t n, std::int64_t k, std::int64_t panel_begin, std::int64_t panel_end,
                          const float* bias) {
  const std::int64_t end = std::min(n, panel_end * kPanelWidth);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = panel_begin * kPanelWidth; j < end; ++j) {
      const float* column = packed + (j / kPanelWidth) * k * kPanelWidth + j % kPanelWidth;
      double sum = bias ? double(bias[j]) : 0.0;
      for (std::int64_t p = 0; p < k; ++p) sum += double(a[i * lda + p]) * double(column[p * kPanelWidth]);
      c[i * ldc + j] = float(sum);
    }
}

inline void matmul_nn(const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c, std::int64_t ldc,
                      std::int64_t m, std::int64_t n, std::int64_t k) {
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (std::int64_t p = 0; p < k; ++p) sum += double(a[i * lda + p]) * double(b[p * ldb + j]);
      c[i * ldc + j] = float(sum);
    }
}

inline void softmax_rows(float* x, std::int64_t rows, std::int64_t n, std::int64_t ld) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * ld;
    float max = -std::numeric_limits<float>::infinity();
    for (std::int64_t i = 0; i < n; ++i) max = std::fmax(max, row[i]);
    if (max == -std::numeric_limits<float>::infinity()) {  // fully masked: attend to nothing
      for (std::int64_t i = 0; i < n; ++i) row[i] = 0.0f;
      continue;
    }
    double sum = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
      row[i] = std::exp(row[i] - max);
      sum += row[i];
    }
    const double inv = 1.0 / sum;
    for (std::int64_t i = 0; i < n; ++i) row[i] = float(row[i] * inv);
  }
}

// Two passes in double: exact enough even when |mean| >> std (float32 one-pass formulas lose
// every significant digit there, as torch's CPU kernel does).
inline void layer_norm_rows(const float* x, std::int64_t ldx, float* y, std::int64_t ldy, std::int64_t rows,
                            std::int64_t n, const float* weight, const float* bias, float eps) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    double mean = 0.0;
    for (std::int64_t i = 0; i < n; ++i) mean += xr[i];
    mean /= double(n);
    double var = 0.0;
    for (std::int64_t i = 0; i < n; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    var /= double(n);
    const double rstd = 1.0 / std::sqrt(var + double(eps));
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = (xr[i] - mean) * rstd * double(weight[i]);
      yr[i] = float(bias ? v + double(bias[i]) : v);
    }
  }
}

inline void rms_norm_rows(const float* x, std::int64_t ldx, float* y, std::int64_t ldy, std::int64_t rows,
                          std::int64_t n, const float* weight, float eps) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    double sum_sq = 0.0;
    for (std::int64_t i = 0; i < n; ++i) sum_sq += double(xr[i]) * double(xr[i]);
    const double rstd = 1.0 / std::sqrt(sum_sq / double(n) + double(eps));
    for (std::int64_t i = 0; i < n; ++i) yr[i] = float(double(xr[i]) * rstd * double(weight[i]));
  }
}

inline float activation(Activation act, float x) {
  switch (act) {
    case Activation::relu: return std::isnan(x) || x > 0.0f ? x : 0.0f;
    case Activation::gelu_erf: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
    case Activation::gelu_tanh: {
      const float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);  // sqrt(2/pi)
      return 0.5f * x * (1.0f + std::tanh(inner));
    }
    case Activation::silu: return x / (1.0f + std::exp(-x));
    case Activation::tanh: return std::tanh(x);
  }
  return x;
}

inline void activate(Activation act, float* x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) x[i] = activation(act, x[i]);
}

inline void activate_gated(Activation act, const float* gate, const float* up, float* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = activation(act, gate[i]) * up[i];
}

inline void add(const float* a, const float* b, float* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

inline const KernelTable kTable = {matmul_nt, matmul_packed, matmul_nn, softmax_rows, layer_norm_rows, rms_norm_rows,
                                   activate,  activate_gated, add};

}  // namespace qkv::kernels::generic
