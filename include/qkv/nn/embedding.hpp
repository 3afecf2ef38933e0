#pragma once
// Token embedding: a row of the table per token id, times a scale (sqrt(d_model) in the
// original Transformer and Marian, 1 in GPT-2 and BERT).
#include <cstdint>

#include "qkv/core/error.hpp"
#include "qkv/core/tensor.hpp"

namespace qkv::nn {

struct Embedding {
  TensorView<const float> weight;  // [vocab, d]
  float scale = 1.0f;

  std::int64_t vocab_size() const { return weight.dim(0); }
  std::int64_t dim() const { return weight.dim(1); }

  // ids [B, L] -> out [B, L, d] (or out += when accumulate: BERT adds token-type rows).
  // An id outside [0, vocab) is a qkv::Error.
  void forward(TensorView<const std::int64_t> ids, TensorView<float> out, bool accumulate = false) const {
    expect_shape(out, {ids.dim(0), ids.dim(1), dim()}, "embedding output");
    for (std::int64_t b = 0; b < ids.dim(0); ++b)
      for (std::int64_t t = 0; t < ids.dim(1); ++t) {
        const std::int64_t id = ids(b, t);
        if (id < 0 || id >= vocab_size())
          fail("token id ", id, " at [", b, ", ", t, "] is out of range: the vocabulary has ", vocab_size(), " entries");
        for (std::int64_t i = 0; i < dim(); ++i) {
          const float v = weight(id, i) * scale;
          out(b, t, i) = accumulate ? out(b, t, i) + v : v;
        }
      }
  }
};

}  // namespace qkv::nn
