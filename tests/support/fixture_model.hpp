#pragma once
// The small full models of tests/data/fixtures/models_*.safetensors (see its README): weights
// under "weights.", inputs under "inputs.", torch's outputs under "expected.".
#include <cmath>

#include "qkv/models/torch_layout.hpp"
#include "support/reference.hpp"

namespace qkv::test {

struct FixtureModel {
  io::SafetensorsFile file;
  std::shared_ptr<WeightStore> weights;
  explicit FixtureModel(const std::string& name)
      : file(open_data("fixtures/" + name + ".safetensors")),
        weights(std::make_shared<WeightStore>(open_data("fixtures/" + name + ".safetensors"), "weights.")) {}
};

// V 50, d 32, 4 heads, ffn 37, 2 layers per stack.
inline TransformerConfig fixture_config() {
  TransformerConfig c;
  c.vocab_size = 50, c.d_model = 32, c.num_heads = 4, c.ffn_dim = 37, c.max_positions = 16;
  return c;
}

// Row b of a right-padded batch, cut to its `length` valid tokens, as a batch of one.
inline Tensor<std::int64_t> row_alone(const Tensor<std::int64_t>& ids, std::int64_t b, std::int64_t length) {
  Tensor<std::int64_t> one({1, length});
  for (std::int64_t t = 0; t < length; ++t) one(0, t) = ids(b, t);
  return one;
}

inline std::int64_t valid_length(const Tensor<std::int64_t>& mask, std::int64_t b) {
  std::int64_t n = 0;
  for (std::int64_t t = 0; t < mask.dim(1); ++t) n += mask(b, t);
  return n;
}

// Expects the batch output [B, L, ...] at row b, positions [0, length), to be bitwise equal to
// the single-sequence output [1, length, ...].
inline void expect_row_bitwise_equal(const Tensor<float>& batch, std::int64_t b, const Tensor<float>& alone,
                                     std::int64_t length, const std::string& what) {
  const std::int64_t inner = alone.numel() / length;
  std::int64_t differing = 0;
  for (std::int64_t i = 0; i < length * inner; ++i)
    differing += batch.data()[(b * batch.dim(1)) * inner + i] != alone.data()[i];
  EXPECT_EQ(differing, 0) << what << ": the padded batch changed the sequence's result";
}

// The key padding [B, L] (1 = pad) of an attention_mask [B, L] (1 = token).
inline Tensor<std::uint8_t> padding_of(const Tensor<std::int64_t>& mask) {
  Tensor<std::uint8_t> p(mask.shape());
  for (std::int64_t i = 0; i < mask.numel(); ++i) p.data()[i] = mask.data()[i] == 0;
  return p;
}

}  // namespace qkv::test
