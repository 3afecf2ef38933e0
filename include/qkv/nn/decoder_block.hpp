#pragma once
// A Transformer decoder layer (torch.nn.TransformerDecoderLayer, BART/Marian/T5 decoder layer):
// causal self-attention, cross-attention whose keys and values come from the encoder output
// (the memory) and whose queries come from the decoder, then the feed-forward network.
#include "qkv/nn/encoder_block.hpp"

namespace qkv::nn {

struct DecoderBlock {
  MultiHeadAttention self_attn;
  Norm self_attn_norm;   // torch: norm1
  MultiHeadAttention cross_attn;
  Norm cross_attn_norm;  // torch: norm2
  FeedForward ffn;
  Norm ffn_norm;         // torch: norm3
  NormPlacement placement = NormPlacement::post;

  // x [B, Lt, d] updated in place; memory [B, Ls, d_memory]. Optional probability outputs:
  // self_probs [B, H, Lt, Lt], cross_probs [B, H, Lt, Ls].
  void forward(TensorView<float> x, TensorView<const float> memory, const AttentionMasks& self_masks,
               const AttentionMasks& cross_masks, TensorView<float> self_probs = {},
               TensorView<float> cross_probs = {}) const {
    Workspace::Scope temporaries(current_workspace());
    const auto scratch = temporaries.take<float>(x.shape()), normed = temporaries.take<float>(x.shape());
    detail::residual(x, self_attn_norm, placement, scratch, normed, [&](TensorView<float> in, TensorView<float> out) {
      self_attn.forward(in, in, in, self_masks, out, self_probs);
    });
    detail::residual(x, cross_attn_norm, placement, scratch, normed, [&](TensorView<float> in, TensorView<float> out) {
      cross_attn.forward(in, memory, memory, cross_masks, out, cross_probs);
    });
    detail::residual(x, ffn_norm, placement, scratch, normed,
                     [&](TensorView<float> in, TensorView<float> out) { ffn.forward(in, out); });
  }

  // Decoding: new tokens x [B, Lnew, d] continue the sequences in self_cache; cross_cache holds
  // the encoder output's keys/values (cross_attn.fill_cache).
  void forward_cached(TensorView<float> x, KvCache& self_cache, const KvCache& cross_cache, const AttentionMasks& self_masks,
                      const AttentionMasks& cross_masks, TensorView<float> self_probs = {},
                      TensorView<float> cross_probs = {}) const {
    Workspace::Scope temporaries(current_workspace());
    const auto scratch = temporaries.take<float>(x.shape()), normed = temporaries.take<float>(x.shape());
    detail::residual(x, self_attn_norm, placement, scratch, normed, [&](TensorView<float> in, TensorView<float> out) {
      self_attn.forward_cached(in, self_cache, self_masks, out, self_probs);
    });
    detail::residual(x, cross_attn_norm, placement, scratch, normed, [&](TensorView<float> in, TensorView<float> out) {
      cross_attn.forward_over(in, cross_cache, cross_masks, out, cross_probs);
    });
    detail::residual(x, ffn_norm, placement, scratch, normed,
                     [&](TensorView<float> in, TensorView<float> out) { ffn.forward(in, out); });
  }
};

}  // namespace qkv::nn
