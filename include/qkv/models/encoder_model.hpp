#pragma once
// Encoder-only model (BERT-like): contextual embeddings for every token, and optionally a
// classification head on the first token.
#include <memory>
#include <vector>

#include "qkv/models/config.hpp"
#include "qkv/models/stacks.hpp"
#include "qkv/models/weight_store.hpp"
#include "qkv/ops/softmax.hpp"

namespace qkv {

struct EncoderOutput {
  Tensor<float> last_hidden_state;         // [B, L, d]
  std::vector<Tensor<float>> attentions;   // per layer [B, H, L, L], when asked for
};

struct EncoderModel {
  TransformerConfig config;
  std::shared_ptr<WeightStore> weights;  // owns what the views below point to
  TokenInput input;
  EncoderStack encoder;
  nn::Linear classifier;  // [num_labels, d] on the first token; empty weight = no head

  // ids [B, L]; attention_mask [B, L] (1 = token, 0 = padding) or empty.
  EncoderOutput forward(TensorView<const std::int64_t> ids, TensorView<const std::int64_t> attention_mask = {},
                        bool output_attentions = false) const {
    check_ids(ids, "input_ids");
    const auto padding = key_padding_from(attention_mask, ids.dim(0), ids.dim(1));
    nn::AttentionMasks masks;
    masks.key_padding = padding.view();
    EncoderOutput out;
    out.last_hidden_state = input.forward(ids);
    encoder.forward(out.last_hidden_state.view(), masks, output_attentions ? &out.attentions : nullptr);
    return out;
  }

  // Class probabilities [B, num_labels] from the first token's hidden state.
  Tensor<float> classify(TensorView<const std::int64_t> ids, TensorView<const std::int64_t> attention_mask = {}) const {
    if (classifier.weight.empty()) fail("classify: this model has no classification head");
    const Tensor<float> hidden = forward(ids, attention_mask).last_hidden_state;
    const std::int64_t batch = hidden.dim(0);
    Tensor<float> probs({batch, classifier.out_features()});
    // The first token of every sequence: rows b * L of the [B*L, d] hidden states.
    const TensorView<const float> first(hidden.data(), {batch, hidden.dim(2)}, {hidden.dim(1) * hidden.dim(2), 1});
    classifier.forward(first, probs);
    ops::softmax(probs);
    return probs;
  }
};

}  // namespace qkv
