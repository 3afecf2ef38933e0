#pragma once
// T5's relative position bias: a learned scalar per head and per bucket of (key_pos - query_pos),
// added to the attention scores. Bidirectional (encoder) buckets tell left from right; causal
// (decoder) buckets only count how far back the key is. Follows HF T5Attention.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "qkv/core/error.hpp"
#include "qkv/core/tensor.hpp"
#include "qkv/core/workspace.hpp"

namespace qkv::nn {

// HF T5Attention._relative_position_bucket for one relative position (key_pos - query_pos).
// Half of the buckets (per direction) are exact distances 0..max_exact-1; the rest cover
// [max_exact, max_distance) logarithmically, and everything farther shares the last bucket.
// The logarithm is evaluated in float32 as torch does it (float tensor ops with Python-float
// constants rounded to float32), so a distance on a bucket boundary lands where HF puts it.
// The settings must pass check_relative_buckets (RelativePositionBias::compute checks them).
inline std::int64_t relative_position_bucket(std::int64_t relative_position, bool bidirectional, std::int64_t num_buckets,
                                             std::int64_t max_distance) {
  std::int64_t bucket = 0;
  std::int64_t n = relative_position;
  if (bidirectional) {
    num_buckets /= 2;
    if (n > 0) bucket += num_buckets;
    n = n < 0 ? -n : n;
  } else {
    n = n < 0 ? -n : 0;  // -min(n, 0): keys after the query (masked anyway) share bucket 0
  }
  const std::int64_t max_exact = num_buckets / 2;
  if (n < max_exact) return bucket + n;
  const float log_ratio = std::log(float(n) / float(max_exact));
  const float log_range = float(std::log(double(max_distance) / double(max_exact)));  // math.log of a Python float
  const float scaled = log_ratio / log_range * float(num_buckets - max_exact);
  const std::int64_t large = max_exact + std::int64_t(scaled);  // .to(torch.long) truncates
  return bucket + std::min(large, num_buckets - 1);
}

// Throws unless HF's bucket function is well defined for these settings: each direction needs at
// least one exact and one logarithmic bucket, and max_distance must lie beyond the exact ones
// (otherwise HF divides by log(1) = 0 or by zero).
inline void check_relative_buckets(std::int64_t num_buckets, std::int64_t max_distance, bool bidirectional) {
  const std::int64_t per_direction = bidirectional ? num_buckets / 2 : num_buckets;
  if (per_direction < 2)
    fail("relative position bias: num_buckets ", num_buckets, " is too few (need at least ", bidirectional ? 4 : 2,
         bidirectional ? " for bidirectional attention)" : " for causal attention)");
  if (max_distance <= per_direction / 2)
    fail("relative position bias: max_distance ", max_distance, " must exceed the ", per_direction / 2,
         " exact buckets of num_buckets ", num_buckets);
}

struct RelativePositionBias {
  TensorView<const float> table;  // [num_buckets, H] (HF relative_attention_bias.weight); empty = none
  bool bidirectional = true;      // encoder: true; decoder self-attention: false
  std::int64_t max_distance = 128;

  bool empty() const { return table.empty(); }
  std::int64_t num_buckets() const { return table.dim(0); }
  std::int64_t num_heads() const { return table.dim(1); }

  // HF T5Attention.compute_bias: bias [H, Lq, Lk] for queries at positions query_start + i and
  // keys at positions 0..Lk-1. With a KV cache of P earlier positions, query_start = P (HF takes
  // the last Lq rows of compute_bias(P + Lq, Lk)).
  Tensor<float> compute(std::int64_t lq, std::int64_t lk, std::int64_t query_start = 0) const {
    if (empty()) fail("relative position bias: no table");
    if (lq < 0 || lk < 0 || query_start < 0)
      fail("relative position bias: need lengths and start >= 0, got ", lq, ", ", lk, ", ", query_start);
    auto bias = Tensor<float>::uninitialized({num_heads(), lq, lk});
    compute_into(bias, query_start);
    return bias;
  }

  // The same into bias [H, Lq, Lk] (allocates nothing: its scratch comes from current_workspace()).
  void compute_into(TensorView<float> bias, std::int64_t query_start = 0) const {
    if (empty()) fail("relative position bias: no table");
    const std::int64_t lq = bias.dim(1), lk = bias.dim(2);
    if (bias.rank() != 3 || bias.dim(0) != num_heads() || query_start < 0)
      fail("relative position bias: need [", num_heads(), ", Lq, Lk] and start >= 0, got ", bias.shape(), ", ", query_start);
    check_relative_buckets(num_buckets(), max_distance, bidirectional);
    // Only Lq + Lk - 1 distinct relative positions occur: bucket each once.
    const std::int64_t lowest = -(query_start + lq - 1);  // key 0 seen from the last query
    Workspace::Scope scratch(current_workspace());
    const auto buckets = scratch.take<std::int64_t>({std::max<std::int64_t>(lk - lowest, 0)});
    for (std::int64_t i = 0; i < buckets.dim(0); ++i)
      buckets(i) = relative_position_bucket(lowest + i, bidirectional, num_buckets(), max_distance);
    for (std::int64_t h = 0; h < num_heads(); ++h)
      for (std::int64_t i = 0; i < lq; ++i)
        for (std::int64_t j = 0; j < lk; ++j) bias(h, i, j) = table(buckets(j - (query_start + i) - lowest), h);
  }
};

}  // namespace qkv::nn
