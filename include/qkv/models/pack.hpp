#pragma once
// Packs every projection of a model's blocks into the GEMM's panel layout, once, at load time
// (qkv::load does it). The packed copies live in the model's WeightStore; a weight shared by two
// layers is packed once, and the memory-mapped original leaves the resident set. Heads on a single row (pooler, classifier, LM head) stay unpacked: they
// run as dot products straight from the stored weight.
#include <cstdint>
#include <string>

#include "qkv/models/stacks.hpp"
#include "qkv/models/weight_store.hpp"

namespace qkv {

inline void pack_linear(nn::Linear& linear, WeightStore& store) {
  if (linear.weight.empty() || !linear.packed.empty()) return;
  const std::string name = "packed@" + std::to_string(reinterpret_cast<std::uintptr_t>(linear.weight.data())) + "x" +
                           std::to_string(linear.weight.dim(0));
  const auto panels = store.contains(name) ? store.get(name, store.shape_of(name))
                                           : store.keep(name, ops::pack_weight(linear.weight));
  linear.packed = ops::packed_view(panels, linear.out_features());
  store.release(linear.weight);  // stays valid (read back on use), but no longer resident
}

// The weights of q, k and v (nn.Linear's [out_i, d], or with k_major HF Conv1D's [d, out_i]) and
// their biases (empty = none) packed side by side into attention's fused projection qkv_proj, each
// part from a panel boundary (MultiHeadAttention::project_self); q_proj, k_proj and v_proj become
// views of their panels, so the three projections cost no extra memory. `name` keys the packed
// copy in the store: layers that share their weights share it.
inline void pack_qkv(nn::MultiHeadAttention& a, const TensorView<const float> (&weights)[3],
                     const TensorView<const float> (&biases)[3], bool k_major, const std::string& name,
                     WeightStore& store) {
  std::int64_t outs[3], width = 0;
  bool any_bias = false;
  for (int i = 0; i < 3; ++i) {
    outs[i] = k_major ? weights[i].dim(1) : weights[i].dim(0);
    width += ops::packed_width(outs[i]);
    any_bias = any_bias || !biases[i].empty();
  }
  TensorView<const float> fused, bias;
  if (store.contains(name)) {  // layers that share their weights share the packed copy
    fused = store.get(name, store.shape_of(name));
    if (any_bias) bias = store.get(name + "/bias", {width});
  } else {
    fused = store.keep(name, ops::pack_weights_side_by_side({weights[0], weights[1], weights[2]}, k_major));
    if (any_bias) {
      Tensor<float> joined({width});  // zeros where a part has none
      for (std::int64_t i = 0, at = 0; i < 3; at += ops::packed_width(outs[i]), ++i)
        if (!biases[i].empty()) std::copy_n(biases[i].data(), outs[i], joined.data() + at);
      bias = store.keep(name + "/bias", std::move(joined));
    }
  }
  a.qkv_proj = nn::Linear();
  a.qkv_proj.packed = ops::packed_view(fused, width);
  a.qkv_proj.bias = bias;
  nn::Linear* parts[] = {&a.q_proj, &a.k_proj, &a.v_proj};
  for (std::int64_t i = 0, at = 0; i < 3; at += ops::packed_width(outs[i]), ++i) {
    parts[i]->weight = {};
    parts[i]->packed = ops::packed_part(fused, at, outs[i]);
    parts[i]->bias = biases[i];
    store.release(weights[i]);
  }
}

// A self-attention's q, k and v as one fused projection, when they read inputs of one width.
inline void pack_fused_qkv(nn::MultiHeadAttention& a, WeightStore& store) {
  const nn::Linear* parts[] = {&a.q_proj, &a.k_proj, &a.v_proj};
  for (const nn::Linear* l : parts)
    if (l->weight.empty() || !l->packed.empty() || l->weight.dim(1) != a.q_proj.weight.dim(1)) return;
  const std::string name = "packed-qkv@" + std::to_string(reinterpret_cast<std::uintptr_t>(a.q_proj.weight.data()));
  pack_qkv(a, {a.q_proj.weight, a.k_proj.weight, a.v_proj.weight}, {a.q_proj.bias, a.k_proj.bias, a.v_proj.bias},
           false, name, store);
}

inline void pack_linears(nn::MultiHeadAttention& a, WeightStore& store) {
  for (nn::Linear* l : {&a.q_proj, &a.k_proj, &a.v_proj, &a.out_proj}) pack_linear(*l, store);
}

inline void pack_linears(nn::FeedForward& f, WeightStore& store) {
  for (nn::Linear* l : {&f.up, &f.gate, &f.down}) pack_linear(*l, store);
}

inline void pack_linears(EncoderStack& stack, WeightStore& store) {
  for (auto& block : stack.layers) {
    pack_fused_qkv(block.self_attn, store);
    pack_linears(block.self_attn, store);
    pack_linears(block.ffn, store);
  }
}

inline void pack_linears(DecoderStack& stack, WeightStore& store) {
  for (auto& block : stack.layers) {
    pack_fused_qkv(block.self_attn, store);
    pack_linears(block.self_attn, store);
    pack_linears(block.cross_attn, store);
    pack_linears(block.ffn, store);
  }
}

}  // namespace qkv
