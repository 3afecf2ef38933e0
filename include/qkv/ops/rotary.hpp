#pragma once
// Rotary position embedding (RoPE) in Hugging Face's rotate-half layout (LLaMA, GPT-NeoX, Mistral,
// Qwen...): the first 2n features of a head are rotated by the angles position * inv_freq[i],
//   x' = x * cos + rotate_half(x) * sin,   rotate_half(x) = cat(-x[n:2n], x[0:n]),
// with cos/sin of emb = cat(freqs, freqs). Features from 2n on are left alone (partial rotary).
// Numerics follow transformers' LlamaRotaryEmbedding.forward + apply_rotary_pos_emb: the angle is
// one float32 product float(position) * inv_freq, and cos/sin are scaled by the attention factor
// in float32 (YaRN's mscale; 1 otherwise).
#include <cmath>
#include <cstdint>

#include "qkv/kernels/dispatch.hpp"
#include "qkv/ops/rows.hpp"

namespace qkv::ops {

// positions [L] and inv_freq [n] -> cos, sin [L, n] (times attention_factor). Positions must be >= 0.
inline void rotary_tables(TensorView<const std::int64_t> positions, TensorView<const float> inv_freq,
                          float attention_factor, TensorView<float> cos, TensorView<float> sin) {
  if (positions.rank() != 1 || inv_freq.rank() != 1) fail("rotary_tables: positions and inv_freq must be vectors");
  const std::int64_t length = positions.dim(0), n = inv_freq.dim(0);
  expect_shape(cos, {length, n}, "rotary_tables: cos");
  expect_shape(sin, {length, n}, "rotary_tables: sin");
  for (std::int64_t t = 0; t < length; ++t) {
    const std::int64_t p = positions(t);
    if (p < 0) fail("rotary_tables: position ", p, " at index ", t, " is negative");
    for (std::int64_t i = 0; i < n; ++i) {
      const float angle = float(p) * inv_freq(i);  // HF: (inv_freq @ position_ids.float()), float32
      // cos/sin of the float32 angle, evaluated in double and rounded: within 1 ulp of torch's.
      float c = float(std::cos(double(angle))), s = float(std::sin(double(angle)));
      if (attention_factor != 1.0f) c *= attention_factor, s *= attention_factor;
      cos(t, i) = c;
      sin(t, i) = s;
    }
  }
}

// x [L, >= 2n] in place (rows contiguous, any row stride), one row per position of cos/sin [L, n].
inline void apply_rotary(TensorView<float> x, TensorView<const float> cos, TensorView<const float> sin) {
  const auto r = rows_of(x, "apply_rotary: x");
  if (cos.rank() != 2 || cos.shape() != sin.shape()) fail("apply_rotary: cos ", cos.shape(), " and sin ", sin.shape(), " must be equal [L, n]");
  const std::int64_t n = cos.dim(1);
  if (x.rank() != 2 || r.rows != cos.dim(0) || 2 * n > r.cols)
    fail("apply_rotary: x ", x.shape(), " must be [", cos.dim(0), ", >= ", 2 * n, "] for cos/sin ", cos.shape());
  const auto rc = rows_of(cos, "apply_rotary: cos"), rs = rows_of(sin, "apply_rotary: sin");
  // x * cos + rotate_half(x) * sin as torch computes it: two products and one sum per element, each
  // rounded to float (the kernel never fuses them), so every ISA gives the same bits.
  kernels::active().rotary_rows(r.data, r.ld, rc.data, rc.ld, rs.data, rs.ld, r.rows, n);
}

// Both steps for one head: x [L, >= 2n], positions [L], inv_freq [n].
inline void rotary(TensorView<float> x, TensorView<const std::int64_t> positions, TensorView<const float> inv_freq,
                   float attention_factor = 1.0f) {
  if (positions.rank() != 1 || inv_freq.rank() != 1) fail("rotary: positions and inv_freq must be vectors");
  Tensor<float> cos({positions.dim(0), inv_freq.dim(0)}), sin({positions.dim(0), inv_freq.dim(0)});
  rotary_tables(positions, inv_freq, attention_factor, cos, sin);
  apply_rotary(x, cos.view(), sin.view());
}

}  // namespace qkv::ops
