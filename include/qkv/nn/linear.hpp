#pragma once
#include "qkv/ops/linear.hpp"

namespace qkv::nn {

struct Linear {
  TensorView<const float> weight;  // [out_features, in_features] (nn.Linear layout); may be empty when packed is set
  TensorView<const float> bias;    // [out_features], or empty
  ops::PackedWeights packed;       // the weight in GEMM panels (models pack theirs at load time); used when set

  Linear() = default;
  Linear(TensorView<const float> weight_, TensorView<const float> bias_ = {}) : weight(weight_), bias(bias_) {}

  bool empty() const { return weight.empty() && packed.empty(); }
  std::int64_t in_features() const { return packed.empty() ? weight.dim(1) : packed.in_features; }
  std::int64_t out_features() const { return packed.empty() ? weight.dim(0) : packed.out_features; }
  // x [..., in] -> y [..., out]
  void forward(TensorView<const float> x, TensorView<float> y) const {
    if (packed.empty())
      ops::linear(x, weight, bias, y);
    else
      ops::linear(x, packed, bias, y);
  }
};

}  // namespace qkv::nn
