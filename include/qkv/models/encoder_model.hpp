#pragma once
// Encoder-only model (BERT-like): contextual embeddings for every token, an optional pooler, and
// optionally one head: a masked-LM head (token logits) or a classifier on the pooled output (or on
// the first token when there is no pooler).
#include <memory>
#include <utility>
#include <vector>

#include "qkv/models/pack.hpp"
#include "qkv/models/config.hpp"
#include "qkv/models/stacks.hpp"
#include "qkv/models/weight_store.hpp"
#include "qkv/nn/lm_head.hpp"
#include "qkv/ops/softmax.hpp"

namespace qkv {

struct EncoderOutput {
  Tensor<float> last_hidden_state;           // [B, L, d]
  Tensor<float> pooler_output;               // [B, d] = tanh(pooler(h[:, 0])), when the model has a pooler
  Tensor<float> logits;                      // [B, L, vocab] from the masked-LM head, or [B, num_labels]
                                             // raw class scores from the classifier; empty without a head
  std::vector<Tensor<float>> hidden_states;  // n_layers + 1 of [B, L, d], when asked for
  std::vector<Tensor<float>> attentions;     // per layer [B, H, L, L], when asked for
};

// BERT's masked-LM head (HF BertLMPredictionHead): transform = dense -> act -> LayerNorm
// (BertPredictionHeadTransform), then the decoder, tied to the word embeddings, plus its own bias.
struct MaskedLmHead {
  nn::Linear dense;  // [d, d]; empty weight = no head
  Activation activation = Activation::gelu_erf;
  nn::Norm norm;
  nn::LmHead decoder;  // linear [vocab, d], logits_bias [vocab]

  bool empty() const { return dense.weight.empty(); }

  // h [B, L, d] -> logits [B, L, vocab]
  Tensor<float> forward(TensorView<const float> h) const {
    Workspace::Scope scratch(current_workspace());
    const auto t = scratch.take<float>({h.dim(0), h.dim(1), dense.out_features()});
    dense.forward(h, t);
    ops::activate(activation, t);
    norm.forward(t, t);
    auto logits = Tensor<float>::uninitialized({h.dim(0), h.dim(1), decoder.vocab_size()});
    decoder.forward(t, logits);
    return logits;
  }
};

struct EncoderModel {
  TransformerConfig config;
  std::shared_ptr<WeightStore> weights;  // owns what the views below point to
  TokenInput input;
  EncoderStack encoder;
  nn::Linear classifier;  // [num_labels, d] on pooler_output, or on the first token without a pooler; empty = none
  nn::Linear pooler;      // [d, d] + tanh on the first token (BERT); empty weight = none
  MaskedLmHead mlm_head{};  // empty = none; the {} keeps partial aggregate initialization warning-free
  // A model has at most one head: mlm_head or classifier.

  // Packs the blocks' projections into GEMM panels (qkv::load calls it).
  void pack_weights() {
    pack_linears(encoder, *weights);
  }

  // ids [B, L]; attention_mask [B, L] (1 = token, 0 = padding) or empty.
  EncoderOutput forward(TensorView<const std::int64_t> ids, TensorView<const std::int64_t> attention_mask = {},
                        const ForwardOptions& options = {}) const {
    check_ids(ids, "input_ids");
    // Stateless: the temporaries come from the calling thread's workspace.
    Workspace::Scope scratch(current_workspace());
    const auto padding = scratch.take<std::uint8_t>(ids.shape());
    key_padding_into(attention_mask, padding);
    nn::AttentionMasks masks;
    masks.key_padding = padding;
    EncoderOutput out;
    out.last_hidden_state = input.forward(ids, options);
    encoder.forward(out.last_hidden_state.view(), masks, options.output_attentions ? &out.attentions : nullptr,
                    options.output_hidden_states ? &out.hidden_states : nullptr);
    if (!pooler.weight.empty()) {
      out.pooler_output = Tensor<float>::uninitialized({ids.dim(0), pooler.out_features()});
      pooler.forward(first_tokens(out.last_hidden_state), out.pooler_output);
      ops::activate(Activation::tanh, out.pooler_output);
    }
    if (!mlm_head.empty()) {
      out.logits = mlm_head.forward(out.last_hidden_state);
    } else if (!classifier.weight.empty()) {
      // HF BertForSequenceClassification: classifier(dropout(pooled_output)).
      out.logits = Tensor<float>::uninitialized({ids.dim(0), classifier.out_features()});
      const TensorView<const float> pooled =
          pooler.weight.empty() ? first_tokens(out.last_hidden_state) : std::as_const(out.pooler_output).view();
      classifier.forward(pooled, out.logits);
    }
    return out;
  }

  // Class probabilities [B, num_labels]: the softmax of the classifier's logits.
  Tensor<float> classify(TensorView<const std::int64_t> ids, TensorView<const std::int64_t> attention_mask = {},
                         const ForwardOptions& options = {}) const {
    if (classifier.weight.empty() || !mlm_head.empty()) fail("classify: this model has no classification head");
    Tensor<float> probs = forward(ids, attention_mask, options).logits;
    ops::softmax(probs);
    return probs;
  }

  // The first token of every sequence: [B, d] rows b * L of hidden [B, L, d].
  static TensorView<const float> first_tokens(const Tensor<float>& hidden) {
    return TensorView<const float>(hidden.data(), {hidden.dim(0), hidden.dim(2)}, {hidden.dim(1) * hidden.dim(2), 1});
  }
};

}  // namespace qkv
