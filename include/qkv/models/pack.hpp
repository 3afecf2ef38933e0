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
  const std::int64_t in = k_major ? weights[0].dim(0) : weights[0].dim(1);
  std::int64_t panels = 0;
  bool any_bias = false;
  for (int i = 0; i < 3; ++i) {
    panels += kernels::panel_count(k_major ? weights[i].dim(1) : weights[i].dim(0));
    any_bias = any_bias || !biases[i].empty();
  }
  const Shape shape{panels, in, kernels::kPanelWidth};
  const std::int64_t width = panels * kernels::kPanelWidth;
  const bool shared = store.contains(name);
  TensorView<const float> fused, bias;
  if (shared) {
    fused = store.get(name, shape);
    if (any_bias) bias = store.get(name + "/bias", {width});
  } else {
    Tensor<float> packed(shape);
    Tensor<float> joined = any_bias ? Tensor<float>({width}) : Tensor<float>();  // zeros where a part has none
    std::int64_t panel = 0;
    for (int i = 0; i < 3; ++i) {
      const auto w = weights[i];
      const std::int64_t out = k_major ? w.dim(1) : w.dim(0);
      kernels::pack_panels(w.data(), w.stride(0), out, in, k_major, packed.data() + panel * in * kernels::kPanelWidth);
      if (!biases[i].empty()) std::copy_n(biases[i].data(), out, joined.data() + panel * kernels::kPanelWidth);
      panel += kernels::panel_count(out);
    }
    fused = store.keep(name, std::move(packed));
    if (any_bias) bias = store.keep(name + "/bias", std::move(joined));
  }
  a.qkv_proj = nn::Linear();
  a.qkv_proj.packed = ops::packed_view(fused, width);
  a.qkv_proj.bias = bias;
  nn::Linear* parts[] = {&a.q_proj, &a.k_proj, &a.v_proj};
  std::int64_t panel = 0;
  for (int i = 0; i < 3; ++i) {
    const std::int64_t out = k_major ? weights[i].dim(1) : weights[i].dim(0), count = kernels::panel_count(out);
    parts[i]->weight = {};
    parts[i]->packed = ops::packed_view(fused.narrow(0, panel, count), out);
    parts[i]->bias = biases[i];
    store.release(weights[i]);
    panel += count;
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
