#pragma once
// Elementwise activations, plain and gated, and the names configs use for them.
#include <string>

#include "qkv/kernels/dispatch.hpp"
#include "qkv/ops/parallel.hpp"
#include "qkv/ops/rows.hpp"

namespace qkv::ops {

// Maps a config's activation name (torch, HF) to an Activation; `what` names the config field.
inline Activation parse_activation(const std::string& name, const std::string& what = "activation") {
  if (name == "relu") return Activation::relu;
  if (name == "gelu") return Activation::gelu_erf;  // exact erf GELU, as torch and HF mean it
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_tanh" || name == "gelu_fast")
    return Activation::gelu_tanh;
  if (name == "silu" || name == "swish") return Activation::silu;
  if (name == "tanh") return Activation::tanh;
  fail(what, ": unsupported activation '", name, "' (supported: relu, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, silu, swish, tanh)");
}

// x = act(x) in place.
inline void activate(Activation act, TensorView<float> x) {
  const auto r = rows_of(x, "activate");
  const auto& kt = kernels::active();
  detail::split_rows(r.rows, r.cols, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) kt.activate(act, r.row(i), r.cols);
  });
}

// out = act(gate) * up, elementwise. out may alias gate or up.
inline void activate_gated(Activation act, TensorView<const float> gate, TensorView<const float> up, TensorView<float> out) {
  const auto g = rows_of(gate, "activate_gated: gate");
  const auto u = rows_of(up, "activate_gated: up");
  const auto o = rows_of(out, "activate_gated: output");
  if (g.rows != u.rows || g.cols != u.cols || o.rows != g.rows || o.cols != g.cols)
    fail("activate_gated: gate ", gate.shape(), ", up ", up.shape(), " and output ", out.shape(), " must match");
  const auto& kt = kernels::active();
  detail::split_rows(g.rows, g.cols, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) kt.activate_gated(act, g.row(i), u.row(i), o.row(i), g.cols);
  });
}

}  // namespace qkv::ops
