#pragma once
// Multi-head attention, self or cross: project queries, keys and values, attend per head,
// concatenate the heads, project the result. Keys/values may have their own widths (torch's
// kdim/vdim) and fewer heads than the queries (grouped-query attention). Queries and keys may be
// rotated by a rotary position embedding after the projection (LLaMA).
#include <cstdint>

#include "qkv/nn/linear.hpp"
#include "qkv/nn/rotary.hpp"
#include "qkv/ops/attention.hpp"

namespace qkv::nn {

// Masks for a batch: which keys each query of each sequence may see. All optional.
struct AttentionMasks {
  bool causal = false;
  std::int64_t causal_offset = 0;              // see ops::AttentionMask
  TensorView<const std::uint8_t> key_padding;  // [B, Lk], nonzero = padded key
  TensorView<const std::uint8_t> blocked;      // [Lq, Lk], nonzero = not allowed
  TensorView<const float> additive;            // [Lq, Lk], added to every head's scores
  TensorView<const float> head_bias;           // [H, Lq, Lk], added per head (T5's relative position bias)
  // Not a mask, but it travels with them through the blocks: the positions [B, L] of the tokens,
  // for a rotary embedding (self-attention: queries and keys are the same tokens). Empty = 0..L-1.
  // Explicit positions let a caller continue a sequence (after a KV cache of P tokens: P, P+1, ...).
  TensorView<const std::int64_t> positions;
};

struct MultiHeadAttention {
  Linear q_proj;    // [H * head_dim, d_query]
  Linear k_proj;    // [H_kv * head_dim, d_key]
  Linear v_proj;    // [H_kv * head_dim, d_value]
  Linear out_proj;  // [d_out, H * head_dim]
  std::int64_t num_heads = 1;
  std::int64_t num_kv_heads = 1;  // == num_heads except for grouped-query attention
  float scale = 1.0f;             // 1/sqrt(head_dim) usually; 1 for T5
  RotaryEmbedding rotary;         // rotates q and k of every head at masks.positions (LLaMA); empty = none

  std::int64_t head_dim() const { return q_proj.out_features() / num_heads; }

  // query [B, Lq, d_query], key [B, Lk, d_key], value [B, Lk, d_value] -> out [B, Lq, d_out].
  // probs, if given, receives the attention probabilities [B, H, Lq, Lk].
  void forward(TensorView<const float> query, TensorView<const float> key, TensorView<const float> value,
               const AttentionMasks& masks, TensorView<float> out, TensorView<float> probs = {}) const {
    const std::int64_t batch = query.dim(0), lq = query.dim(1), lk = key.dim(1);
    if (key.dim(0) != batch || value.dim(0) != batch || value.dim(1) != lk)
      fail("multi-head attention: query ", query.shape(), ", key ", key.shape(), " and value ", value.shape(),
           " disagree on batch or key length");
    Tensor<float> q({batch, lq, q_proj.out_features()});
    Tensor<float> k({batch, lk, k_proj.out_features()});
    Tensor<float> v({batch, lk, v_proj.out_features()});
    q_proj.forward(query, q);
    k_proj.forward(key, k);
    v_proj.forward(value, v);
    if (!rotary.empty()) {
      if (lk != lq) fail("multi-head attention: a rotary embedding needs keys at the queries' positions, got ", lq,
                         " queries and ", lk, " keys");
      rotary.forward(q, k, head_dim(), masks.positions);  // HF: apply_rotary_pos_emb(q, k, cos, sin)
    }
    Tensor<float> context({batch, lq, q_proj.out_features()});
    attend(q, k, v, masks, context, probs);
    out_proj.forward(context.view(), out);
  }

  // The per-head part on projected (and rotated) inputs: q [B, Lq, H*hd], k/v [B, Lk, H_kv*hd] -> context
  // [B, Lq, H*hd] (heads concatenated).
  void attend(TensorView<const float> q, TensorView<const float> k, TensorView<const float> v, const AttentionMasks& masks,
              TensorView<float> context, TensorView<float> probs = {}) const {
    const std::int64_t batch = q.dim(0), lq = q.dim(1), lk = k.dim(1), hd = head_dim();
    if (num_heads <= 0 || num_kv_heads <= 0 || num_heads % num_kv_heads != 0 || q.dim(2) != num_heads * hd)
      fail("multi-head attention: ", num_heads, " query heads and ", num_kv_heads, " key/value heads do not divide width ",
           q.dim(2));
    if (k.dim(2) != num_kv_heads * hd || v.dim(2) != num_kv_heads * hd)
      fail("multi-head attention: keys ", k.shape(), " / values ", v.shape(), " must have ", num_kv_heads, " heads of ", hd);
    if (!masks.key_padding.empty()) expect_shape(masks.key_padding, {batch, lk}, "attention key padding mask");
    if (!masks.head_bias.empty()) expect_shape(masks.head_bias, {num_heads, lq, lk}, "attention head bias");
    if (!probs.empty()) expect_shape(probs, {batch, num_heads, lq, lk}, "attention probabilities");

    Tensor<float> scratch({lq, lk});
    Tensor<float> bias_sum;  // additive mask + this head's bias, when both are present
    if (!masks.additive.empty() && !masks.head_bias.empty()) bias_sum = Tensor<float>({lq, lk});
    const std::int64_t group = num_heads / num_kv_heads;
    for (std::int64_t b = 0; b < batch; ++b)
      for (std::int64_t h = 0; h < num_heads; ++h) {
        ops::AttentionMask mask;
        mask.causal = masks.causal;
        mask.causal_offset = masks.causal_offset;
        mask.key_padding = masks.key_padding.empty() ? nullptr : masks.key_padding.select(b).data();
        mask.blocked = masks.blocked;
        mask.additive = masks.additive;
        if (!masks.head_bias.empty()) {
          mask.additive = masks.head_bias.select(h);
          if (!masks.additive.empty()) {
            bias_sum.view().matrix() = masks.additive.matrix() + masks.head_bias.select(h).matrix();
            mask.additive = bias_sum.view();
          }
        }
        const std::int64_t kv = h / group;
        ops::attention(q.select(b).narrow(1, h * hd, hd), k.select(b).narrow(1, kv * hd, hd),
                       v.select(b).narrow(1, kv * hd, hd), scale, mask, context.select(b).narrow(1, h * hd, hd),
                       probs.empty() ? scratch.view() : probs.select(b).select(h));
      }
  }
};

}  // namespace qkv::nn
