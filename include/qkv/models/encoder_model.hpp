#pragma once
// Encoder-only model (BERT-like): contextual embeddings for every token, an optional pooler, and
// optionally a classification head on the first token.
#include <memory>
#include <vector>

#include "qkv/models/config.hpp"
#include "qkv/models/stacks.hpp"
#include "qkv/models/weight_store.hpp"
#include "qkv/ops/softmax.hpp"

namespace qkv {

struct EncoderOutput {
  Tensor<float> last_hidden_state;           // [B, L, d]
  Tensor<float> pooler_output;               // [B, d] = tanh(pooler(h[:, 0])), when the model has a pooler
  std::vector<Tensor<float>> hidden_states;  // n_layers + 1 of [B, L, d], when asked for
  std::vector<Tensor<float>> attentions;     // per layer [B, H, L, L], when asked for
};

struct EncoderModel {
  TransformerConfig config;
  std::shared_ptr<WeightStore> weights;  // owns what the views below point to
  TokenInput input;
  EncoderStack encoder;
  nn::Linear classifier;  // [num_labels, d] on the first token; empty weight = no head
  nn::Linear pooler;      // [d, d] + tanh on the first token (BERT); empty weight = none

  // ids [B, L]; attention_mask [B, L] (1 = token, 0 = padding) or empty.
  EncoderOutput forward(TensorView<const std::int64_t> ids, TensorView<const std::int64_t> attention_mask = {},
                        const ForwardOptions& options = {}) const {
    check_ids(ids, "input_ids");
    const auto padding = key_padding_from(attention_mask, ids.dim(0), ids.dim(1));
    nn::AttentionMasks masks;
    masks.key_padding = padding.view();
    EncoderOutput out;
    out.last_hidden_state = input.forward(ids, options);
    encoder.forward(out.last_hidden_state.view(), masks, options.output_attentions ? &out.attentions : nullptr,
                    options.output_hidden_states ? &out.hidden_states : nullptr);
    if (!pooler.weight.empty()) {
      out.pooler_output = Tensor<float>({ids.dim(0), pooler.out_features()});
      pooler.forward(first_tokens(out.last_hidden_state), out.pooler_output);
      ops::activate(Activation::tanh, out.pooler_output);
    }
    return out;
  }

  // Class probabilities [B, num_labels] from the first token's hidden state.
  Tensor<float> classify(TensorView<const std::int64_t> ids, TensorView<const std::int64_t> attention_mask = {},
                         const ForwardOptions& options = {}) const {
    if (classifier.weight.empty()) fail("classify: this model has no classification head");
    const Tensor<float> hidden = forward(ids, attention_mask, options).last_hidden_state;
    Tensor<float> probs({hidden.dim(0), classifier.out_features()});
    classifier.forward(first_tokens(hidden), probs);
    ops::softmax(probs);
    return probs;
  }

  // The first token of every sequence: [B, d] rows b * L of hidden [B, L, d].
  static TensorView<const float> first_tokens(const Tensor<float>& hidden) {
    return TensorView<const float>(hidden.data(), {hidden.dim(0), hidden.dim(2)}, {hidden.dim(1) * hidden.dim(2), 1});
  }
};

}  // namespace qkv
