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

// A packed for matmul_prepacked: just its rows, contiguous (row tile 1).
inline void pack_gemm_rows(const float* a, std::int64_t lda, std::int64_t, std::int64_t k, std::int64_t row_begin,
                           std::int64_t row_end, float* out) {
  for (std::int64_t i = row_begin; i < row_end; ++i)
    for (std::int64_t p = 0; p < k; ++p) out[i * k + p] = a[i * lda + p];
}

inline void matmul_prepacked(const float* packed_rows, const float* packed, float* c, std::int64_t ldc, std::int64_t m,
                             std::int64_t n, std::int64_t k, std::int64_t panel_begin, std::int64_t panel_end,
                             const float* bias) {
  matmul_packed(packed_rows, k, packed, c, ldc, m, n, k, panel_begin, panel_end, bias);
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

// Attention row by row in three passes over the visible keys (max, sum, then the weighted sum of
// v per chunk of 64 output columns), recomputing each score: simple rather than fast. Each step
// rounds as the unfused path (matmul_nt, softmax_rows, matmul_nn of this file) does, so the
// results keep the accuracy that path was validated with against transformers: a score is
// float(double dot) * scale + additive in float, p = float exp(score - max), the sum of p in double,
// the probability float(p / sum), and out the double sum of probability * v. Masked keys are
// skipped, so they cannot change a row's bits.
inline void attention(const float* q, std::int64_t ldq, const float* k, std::int64_t ldk, const float* v,
                      std::int64_t ldv, float* out, std::int64_t ldo, std::int64_t lq, std::int64_t lk, std::int64_t d,
                      std::int64_t dv, float scale, const AttentionKernelMask& mask) {
  constexpr float kMasked = -std::numeric_limits<float>::infinity();
  constexpr std::int64_t kChunk = 64;
  const std::int64_t first = attention_first_key(mask, lk);
  for (std::int64_t i = 0; i < lq; ++i) {
    const float* qi = q + i * ldq;
    float* oi = out + i * ldo;
    const std::int64_t end = attention_key_end(mask, i, first, lk);
    auto score = [&](std::int64_t j) {
      if (mask.key_padding && mask.key_padding[j]) return kMasked;
      if (mask.blocked && mask.blocked[i * mask.ld_blocked + j]) return kMasked;
      double dot = 0.0;
      for (std::int64_t p = 0; p < d; ++p) dot += double(qi[p]) * double(k[j * ldk + p]);
      float s = float(dot) * scale;
      if (mask.additive) s += mask.additive[i * mask.ld_additive + j];
      return s;
    };
    float max = kMasked;
    for (std::int64_t j = first; j < end; ++j) max = std::fmax(max, score(j));
    if (max == kMasked) {  // fully masked: attend to nothing
      std::fill(oi, oi + dv, 0.0f);
      continue;
    }
    double sum = 0.0;
    for (std::int64_t j = first; j < end; ++j)
      if (const float s = score(j); s != kMasked) sum += std::exp(s - max);
    const double inv = 1.0 / sum;
    for (std::int64_t c0 = 0; c0 < dv; c0 += kChunk) {
      const std::int64_t width = std::min(kChunk, dv - c0);
      double acc[kChunk] = {};
      for (std::int64_t j = first; j < end; ++j) {
        const float s = score(j);
        if (s == kMasked) continue;
        const double prob = float(std::exp(s - max) * inv);
        for (std::int64_t c = 0; c < width; ++c) acc[c] += prob * double(v[j * ldv + c0 + c]);
      }
      for (std::int64_t c = 0; c < width; ++c) oi[c0 + c] = float(acc[c]);
    }
  }
}

// The products and the sum are separate float roundings (what torch computes); the portable
// build (-O2, no -march) has no FMA instruction to contract them into.
inline void rotary_rows(float* x, std::int64_t ldx, const float* cos, std::int64_t ldc, const float* sin,
                        std::int64_t lds, std::int64_t rows, std::int64_t n) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * ldx;
    const float* cr = cos + r * ldc;
    const float* sr = sin + r * lds;
    for (std::int64_t i = 0; i < n; ++i) {
      const float a = row[i], b = row[i + n], c = cr[i], s = sr[i];
      row[i] = a * c + (-b) * s;
      row[i + n] = b * c + a * s;
    }
  }
}

inline std::int64_t row_tile(std::int64_t) { return 1; }  // pack_gemm_rows keeps rows as they are

inline const KernelTable kTable = {matmul_nt,       matmul_packed,  row_tile,  pack_gemm_rows,
                                   matmul_prepacked, matmul_nn,     softmax_rows, layer_norm_rows,
                                   rms_norm_rows,    activate,      activate_gated, add,
                                   attention,        rotary_rows};

}  // namespace qkv::kernels::generic
