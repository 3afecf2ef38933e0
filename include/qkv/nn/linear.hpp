#pragma once
#include "qkv/ops/linear.hpp"

namespace qkv::nn {

struct Linear {
  TensorView<const float> weight;  // [out_features, in_features] (nn.Linear layout)
  TensorView<const float> bias;    // [out_features], or empty

  std::int64_t in_features() const { return weight.dim(1); }
  std::int64_t out_features() const { return weight.dim(0); }
  // x [..., in] -> y [..., out]
  void forward(TensorView<const float> x, TensorView<float> y) const { ops::linear(x, weight, bias, y); }
};

}  // namespace qkv::nn
