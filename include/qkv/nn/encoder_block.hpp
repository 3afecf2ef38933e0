#pragma once
// A Transformer encoder layer (torch.nn.TransformerEncoderLayer, BERT's layer): self-attention
// and feed-forward, each wrapped in a residual connection and a norm placed before (pre-LN) or
// after (post-LN) the sub-layer.
#include "qkv/nn/feed_forward.hpp"
#include "qkv/nn/multi_head_attention.hpp"
#include "qkv/nn/norm.hpp"
#include "qkv/ops/add.hpp"

namespace qkv::nn {

enum class NormPlacement {
  pre,   // x + f(norm(x))   (GPT-2, LLaMA, T5, norm_first=True)
  post,  // norm(x + f(x))   (original Transformer, BERT, BART, Marian)
};

namespace detail {
// x <- x + sublayer(x) with the norm placed as `placement` says; sublayer(in, out) writes out.
template <class Sublayer>
void residual(TensorView<float> x, const Norm& norm, NormPlacement placement, TensorView<float> scratch,
              TensorView<float> normed, const Sublayer& sublayer) {
  if (placement == NormPlacement::pre) {
    norm.forward(x, normed);
    sublayer(normed, scratch);
    ops::add(x, scratch, x);
  } else {
    sublayer(x, scratch);
    ops::add(x, scratch, x);
    norm.forward(x, x);
  }
}
}  // namespace detail

struct EncoderBlock {
  MultiHeadAttention self_attn;
  Norm self_attn_norm;  // torch: norm1
  FeedForward ffn;
  Norm ffn_norm;        // torch: norm2
  NormPlacement placement = NormPlacement::post;

  // x [B, L, d], updated in place. probs, if given, receives [B, H, L, L].
  void forward(TensorView<float> x, const AttentionMasks& masks, TensorView<float> probs = {}) const {
    Workspace::Scope temporaries(current_workspace());
    const auto scratch = temporaries.take<float>(x.shape()), normed = temporaries.take<float>(x.shape());
    detail::residual(x, self_attn_norm, placement, scratch, normed, [&](TensorView<float> in, TensorView<float> out) {
      self_attn.forward(in, in, in, masks, out, probs);
    });
    detail::residual(x, ffn_norm, placement, scratch, normed,
                     [&](TensorView<float> in, TensorView<float> out) { ffn.forward(in, out); });
  }

  // The same layer over new tokens x [B, Lnew, d] continuing the sequences in cache (decoding).
  void forward_cached(TensorView<float> x, KvCache& cache, const AttentionMasks& masks, TensorView<float> probs = {}) const {
    Workspace::Scope temporaries(current_workspace());
    const auto scratch = temporaries.take<float>(x.shape()), normed = temporaries.take<float>(x.shape());
    detail::residual(x, self_attn_norm, placement, scratch, normed, [&](TensorView<float> in, TensorView<float> out) {
      self_attn.forward_cached(in, cache, masks, out, probs);
    });
    detail::residual(x, ffn_norm, placement, scratch, normed,
                     [&](TensorView<float> in, TensorView<float> out) { ffn.forward(in, out); });
  }
};

}  // namespace qkv::nn
