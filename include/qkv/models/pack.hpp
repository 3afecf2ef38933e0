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

inline void pack_linears(nn::MultiHeadAttention& a, WeightStore& store) {
  for (nn::Linear* l : {&a.q_proj, &a.k_proj, &a.v_proj, &a.out_proj}) pack_linear(*l, store);
}

inline void pack_linears(nn::FeedForward& f, WeightStore& store) {
  for (nn::Linear* l : {&f.up, &f.gate, &f.down}) pack_linear(*l, store);
}

inline void pack_linears(EncoderStack& stack, WeightStore& store) {
  for (auto& block : stack.layers) {
    pack_linears(block.self_attn, store);
    pack_linears(block.ffn, store);
  }
}

inline void pack_linears(DecoderStack& stack, WeightStore& store) {
  for (auto& block : stack.layers) {
    pack_linears(block.self_attn, store);
    pack_linears(block.cross_attn, store);
    pack_linears(block.ffn, store);
  }
}

}  // namespace qkv
