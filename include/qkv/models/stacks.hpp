#pragma once
// The pieces the three model types share: the token input (embedding, positions, optional
// embedding norm), stacks of encoder and decoder blocks, and masks from attention_mask.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "qkv/core/workspace.hpp"
#include "qkv/nn/decoder_block.hpp"
#include "qkv/nn/embedding.hpp"
#include "qkv/nn/positional.hpp"

namespace qkv {

// attention_mask [B, L] (1 = token, 0 = padding, HF convention) -> key padding [B, L] (1 = padding).
// An empty mask means every position is a token.
inline void key_padding_into(TensorView<const std::int64_t> attention_mask, TensorView<std::uint8_t> padding) {
  const std::int64_t batch = padding.dim(0), length = padding.dim(1);
  if (!attention_mask.empty()) expect_shape(attention_mask, {batch, length}, "attention_mask");
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t t = 0; t < length; ++t) {
      const std::int64_t m = attention_mask.empty() ? 1 : attention_mask(b, t);
      if (m != 0 && m != 1) fail("attention_mask[", b, ", ", t, "] is ", m, ", expected 0 or 1");
      padding(b, t) = m == 0;
    }
}

inline Tensor<std::uint8_t> key_padding_from(TensorView<const std::int64_t> attention_mask, std::int64_t batch,
                                             std::int64_t length) {
  auto padding = Tensor<std::uint8_t>::uninitialized({batch, length});
  key_padding_into(attention_mask, padding);
  return padding;
}

// The attention_mask [B, max_length] of right-padded sequences with these lengths, for callers
// that know lengths rather than masks.
inline Tensor<std::int64_t> attention_mask_from_lengths(const std::vector<std::int64_t>& lengths, std::int64_t max_length) {
  Tensor<std::int64_t> mask({std::int64_t(lengths.size()), max_length});
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    if (lengths[b] < 1 || lengths[b] > max_length)
      fail("sequence ", b, " has length ", lengths[b], ", expected 1..", max_length);
    for (std::int64_t t = 0; t < lengths[b]; ++t) mask(std::int64_t(b), t) = 1;
  }
  return mask;
}

inline void check_ids(TensorView<const std::int64_t> ids, const char* what) {
  if (ids.rank() != 2 || ids.dim(0) == 0 || ids.dim(1) == 0) fail(what, ": expected a non-empty [batch, length] tensor, got ", ids.shape());
}

// What a forward pass returns beyond its main outputs, and the optional inputs some
// architectures take.
struct ForwardOptions {
  bool output_attentions = false;     // per-layer attention probabilities
  bool output_hidden_states = false;  // HF's hidden_states: embeddings, each layer's input, final output
  TensorView<const std::int64_t> token_type_ids;  // [B, L], BERT segments; empty = all 0
  TensorView<const std::int64_t> position_ids;    // [B, L]; empty = 0..L-1

  static ForwardOptions with_attentions() {
    ForwardOptions o;
    o.output_attentions = true;
    return o;
  }
};

// Token ids -> the first hidden states: embed * scale (+ token type) + position, then an optional norm.
struct TokenInput {
  nn::Embedding tokens;
  nn::Embedding token_types;  // [type_vocab, d], BERT; empty weight = none
  nn::PositionalEncoding positions;
  nn::Norm norm;  // BERT's / BART's embedding LayerNorm; empty weight = none

  Tensor<float> forward(TensorView<const std::int64_t> ids, const ForwardOptions& options = {}) const {
    auto x = Tensor<float>::uninitialized({ids.dim(0), ids.dim(1), tokens.dim()});
    forward(ids, options, x);
    return x;
  }

  // The same into x [B, L, d].
  void forward(TensorView<const std::int64_t> ids, const ForwardOptions& options, TensorView<float> x) const {
    tokens.forward(ids, x);
    if (!token_types.weight.empty()) {
      if (options.token_type_ids.empty()) {
        Workspace::Scope scratch(current_workspace());
        const auto zeros = scratch.take<std::int64_t>(ids.shape());
        std::fill_n(zeros.data(), zeros.numel(), std::int64_t(0));
        token_types.forward(zeros, x, /*accumulate=*/true);
      } else {
        expect_shape(options.token_type_ids, ids.shape(), "token_type_ids");
        token_types.forward(options.token_type_ids, x, /*accumulate=*/true);
      }
    }
    positions.add_to(x, 0, options.position_ids);
    if (!norm.weight.empty()) norm.forward(x, x);
  }
};

struct EncoderStack {
  std::vector<nn::EncoderBlock> layers;
  nn::Norm final_norm;  // empty weight = none

  // x [B, L, d] in place. If attentions is given, appends each layer's [B, H, L, L]
  // probabilities; if hidden_states is given, appends each layer's input and the final output.
  void forward(TensorView<float> x, const nn::AttentionMasks& masks, std::vector<Tensor<float>>* attentions = nullptr,
               std::vector<Tensor<float>>* hidden_states = nullptr) const {
    for (const auto& layer : layers) {
      if (hidden_states) hidden_states->push_back(Tensor<float>::copy_of(x));
      Tensor<float> probs;
      if (attentions) probs = Tensor<float>({x.dim(0), layer.self_attn.num_heads, x.dim(1), x.dim(1)});
      layer.forward(x, masks, probs.view());
      if (attentions) attentions->push_back(std::move(probs));
    }
    if (!final_norm.weight.empty()) final_norm.forward(x, x);
    if (hidden_states) hidden_states->push_back(Tensor<float>::copy_of(x));
  }
};

// Positions start, start + 1, ... for every row of a [batch, length] block of new tokens.
inline void continued_positions_into(TensorView<std::int64_t> p, std::int64_t start) {
  for (std::int64_t b = 0; b < p.dim(0); ++b)
    for (std::int64_t t = 0; t < p.dim(1); ++t) p(b, t) = start + t;
}

inline Tensor<std::int64_t> continued_positions(std::int64_t batch, std::int64_t length, std::int64_t start) {
  auto p = Tensor<std::int64_t>::uninitialized({batch, length});
  continued_positions_into(p, start);
  return p;
}

// The logits of the last position of h [B, L, d]: [B, vocab] (decoding needs no other row).
template <class Head>
Tensor<float> last_position_logits(const Head& head, TensorView<const float> h) {
  if (!h.is_contiguous()) fail("last_position_logits: the hidden states must be contiguous");
  const std::int64_t batch = h.dim(0), length = h.dim(1), d = h.dim(2);
  auto logits = Tensor<float>::uninitialized({batch, head.vocab_size()});
  head.forward(TensorView<const float>(h.data() + (length - 1) * d, {batch, d}, {length * d, 1}), logits);
  return logits;
}

struct DecoderStack {
  std::vector<nn::DecoderBlock> layers;
  nn::Norm final_norm;  // empty weight = none

  // x [B, Lt, d] in place; memory [B, Ls, d]. Optional per-layer probabilities.
  void forward(TensorView<float> x, TensorView<const float> memory, const nn::AttentionMasks& self_masks,
               const nn::AttentionMasks& cross_masks, std::vector<Tensor<float>>* self_attentions = nullptr,
               std::vector<Tensor<float>>* cross_attentions = nullptr,
               std::vector<Tensor<float>>* hidden_states = nullptr) const {
    for (const auto& layer : layers) {
      if (hidden_states) hidden_states->push_back(Tensor<float>::copy_of(x));
      Tensor<float> self_probs, cross_probs;
      if (self_attentions) self_probs = Tensor<float>({x.dim(0), layer.self_attn.num_heads, x.dim(1), x.dim(1)});
      if (cross_attentions) cross_probs = Tensor<float>({x.dim(0), layer.cross_attn.num_heads, x.dim(1), memory.dim(1)});
      layer.forward(x, memory, self_masks, cross_masks, self_probs.view(), cross_probs.view());
      if (self_attentions) self_attentions->push_back(std::move(self_probs));
      if (cross_attentions) cross_attentions->push_back(std::move(cross_probs));
    }
    if (!final_norm.weight.empty()) final_norm.forward(x, x);
    if (hidden_states) hidden_states->push_back(Tensor<float>::copy_of(x));
  }
};

}  // namespace qkv
