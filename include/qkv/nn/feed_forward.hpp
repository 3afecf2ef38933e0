#pragma once
// The position-wise feed-forward network: down(act(up x)), or with a gate (LLaMA's SwiGLU,
// T5 v1.1's gated GELU): down(act(gate x) * up x).
#include "qkv/core/workspace.hpp"
#include "qkv/nn/linear.hpp"
#include "qkv/ops/activation.hpp"

namespace qkv::nn {

struct FeedForward {
  Linear up;    // [ffn, d]
  Linear gate;  // [ffn, d] for gated variants; empty weight otherwise
  Linear down;  // [d, ffn]
  Activation activation = Activation::relu;

  bool gated() const { return !gate.empty(); }

  // x [..., d] -> out [..., d]
  void forward(TensorView<const float> x, TensorView<float> out) const {
    const std::int64_t rows = x.numel() / up.in_features();
    Workspace::Scope scratch(current_workspace());
    const auto hidden = scratch.take<float>({rows, up.out_features()});
    const auto x2 = x.reshape({rows, up.in_features()});
    up.forward(x2, hidden);
    if (gated()) {
      const auto gate_out = scratch.take<float>({rows, gate.out_features()});
      gate.forward(x2, gate_out);
      ops::activate_gated(activation, gate_out, hidden, hidden);
    } else {
      ops::activate(activation, hidden);
    }
    down.forward(hidden, out.reshape({rows, down.out_features()}));
  }
};

}  // namespace qkv::nn
