#pragma once
// The language-model head: hidden states -> vocabulary logits, with the extras checkpoints use.
#include "qkv/nn/linear.hpp"

namespace qkv::nn {

struct LmHead {
  Linear linear;                        // [vocab, d], often the token embedding (tied)
  TensorView<const float> logits_bias;  // [vocab]: BART's / Marian's final_logits_bias; empty = none
  float input_scale = 1.0f;             // T5 with tied embeddings scales hidden states by d_model^-0.5

  std::int64_t vocab_size() const { return linear.out_features(); }

  // h [..., d] -> logits [..., vocab]
  void forward(TensorView<const float> h, TensorView<float> logits) const {
    linear.forward(h, logits);
    if (input_scale == 1.0f && logits_bias.empty()) return;
    const auto rows = ops::rows_of(logits, "lm head logits");
    for (std::int64_t r = 0; r < rows.rows; ++r) {
      float* row = rows.row(r);
      // (h * s) W^T = s (h W^T): scaling the logits saves a copy of the hidden states.
      for (std::int64_t v = 0; v < rows.cols; ++v) row[v] = row[v] * input_scale + (logits_bias.empty() ? 0.0f : logits_bias(v));
    }
  }
};

}  // namespace qkv::nn
