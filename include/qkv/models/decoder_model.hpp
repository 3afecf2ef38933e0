#pragma once
// Decoder-only model (GPT-like, LLaMA-like): causal self-attention blocks and a language-model head.
#include <memory>
#include <vector>

#include "qkv/models/config.hpp"
#include "qkv/models/stacks.hpp"
#include "qkv/models/weight_store.hpp"
#include "qkv/nn/lm_head.hpp"

namespace qkv {

struct DecoderOutput {
  Tensor<float> last_hidden_state;           // [B, L, d], after the final norm
  Tensor<float> logits;                      // [B, L, vocab]
  std::vector<Tensor<float>> hidden_states;  // n_layers + 1 of [B, L, d], when asked for
  std::vector<Tensor<float>> attentions;     // per layer [B, H, L, L], when asked for
};

struct DecoderModel {
  TransformerConfig config;
  std::shared_ptr<WeightStore> weights;
  TokenInput input;
  EncoderStack layers;  // self-attention blocks, run with a causal mask
  nn::LmHead lm_head;

  // ids [B, L]; attention_mask [B, L] or empty. options.position_ids [B, L] (default 0..L-1) place
  // the tokens for both the position table and rotary embeddings.
  DecoderOutput forward(TensorView<const std::int64_t> ids, TensorView<const std::int64_t> attention_mask = {},
                        const ForwardOptions& options = {}) const {
    check_ids(ids, "input_ids");
    const auto padding = key_padding_from(attention_mask, ids.dim(0), ids.dim(1));
    if (!options.position_ids.empty()) expect_shape(options.position_ids, ids.shape(), "position_ids");
    nn::AttentionMasks masks;
    masks.causal = true;
    masks.key_padding = padding.view();
    masks.positions = options.position_ids;
    DecoderOutput out;
    out.last_hidden_state = input.forward(ids, options);
    layers.forward(out.last_hidden_state.view(), masks, options.output_attentions ? &out.attentions : nullptr,
                   options.output_hidden_states ? &out.hidden_states : nullptr);
    out.logits = Tensor<float>({ids.dim(0), ids.dim(1), lm_head.vocab_size()});
    lm_head.forward(out.last_hidden_state.view(), out.logits);
    return out;
  }
};

}  // namespace qkv
