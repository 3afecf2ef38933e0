#pragma once
// Absolute positional encodings added to the embeddings: a fixed sinusoidal table or a
// learned one. Both are a table [positions, d]; they differ only in where the table comes from.
#include <cmath>
#include <cstdint>

#include "qkv/core/error.hpp"
#include "qkv/core/tensor.hpp"

namespace qkv::nn {

enum class SinusoidLayout {
  interleaved,  // "Attention Is All You Need": PE[p, 2i] = sin(p w_i), PE[p, 2i+1] = cos(p w_i)
  halves,       // Marian/fairseq: columns [0, d/2) sin, [d/2, d) cos
};

// The sinusoidal table [positions, d], w_i = 10000^(-2i/d), computed in double.
inline Tensor<float> sinusoidal_table(std::int64_t positions, std::int64_t d, SinusoidLayout layout) {
  if (positions < 0 || d <= 0) fail("sinusoidal_table: need positions >= 0 and d > 0, got ", positions, ", ", d);
  Tensor<float> table({positions, d});
  const std::int64_t half = (d + 1) / 2;  // number of sin columns in the halves layout
  for (std::int64_t p = 0; p < positions; ++p)
    for (std::int64_t j = 0; j < d; ++j) {
      const bool use_sin = layout == SinusoidLayout::interleaved ? j % 2 == 0 : j < half;
      const std::int64_t i = layout == SinusoidLayout::interleaved ? j / 2 : (use_sin ? j : j - half);
      const double angle = double(p) / std::pow(10000.0, double(2 * i) / double(d));
      table(p, j) = float(use_sin ? std::sin(angle) : std::cos(angle));
    }
  return table;
}

struct PositionalEncoding {
  TensorView<const float> table;  // [max_positions, d], or empty for none
  std::int64_t offset = 0;        // BART stores its learned table shifted by 2

  std::int64_t max_positions() const { return table.empty() ? 0 : table.dim(0) - offset; }

  // x [B, L, d] += table[p + offset], where p = position_ids(b, t) if given, else start + t.
  void add_to(TensorView<float> x, std::int64_t start = 0, TensorView<const std::int64_t> position_ids = {}) const {
    if (table.empty()) return;
    if (!position_ids.empty()) expect_shape(position_ids, {x.dim(0), x.dim(1)}, "position_ids");
    for (std::int64_t b = 0; b < x.dim(0); ++b)
      for (std::int64_t t = 0; t < x.dim(1); ++t) {
        const std::int64_t p = position_ids.empty() ? start + t : position_ids(b, t);
        if (p < 0 || p >= max_positions())
          fail("position ", p, " is outside the model's ", max_positions(), " position embeddings (sequence too long)");
        for (std::int64_t i = 0; i < x.dim(2); ++i) x(b, t, i) += table(p + offset, i);
      }
  }
};

}  // namespace qkv::nn
