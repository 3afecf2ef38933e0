#pragma once
#include "qkv/ops/norm.hpp"

namespace qkv::nn {

enum class NormKind { layer_norm, rms_norm };

struct Norm {
  NormKind kind = NormKind::layer_norm;
  TensorView<const float> weight;  // [d]
  TensorView<const float> bias;    // [d], or empty (always empty for RMSNorm)
  float eps = 1e-5f;

  // y may alias x.
  void forward(TensorView<const float> x, TensorView<float> y) const {
    if (kind == NormKind::rms_norm)
      ops::rms_norm(x, weight, eps, y);
    else
      ops::layer_norm(x, weight, bias, eps, y);
  }
};

}  // namespace qkv::nn
