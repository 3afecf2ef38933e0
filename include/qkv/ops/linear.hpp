#pragma once
// y = x W^T + b, with W in PyTorch's nn.Linear layout [out_features, in_features].
#include "qkv/kernels/dispatch.hpp"
#include "qkv/ops/rows.hpp"

namespace qkv::ops {

// x [..., in], weight [out, in], bias [out] or empty, y [..., out] (same leading dims as x).
inline void linear(TensorView<const float> x, TensorView<const float> weight, TensorView<const float> bias,
                   TensorView<float> y) {
  const auto in = rows_of(x, "linear: input");
  const auto out = rows_of(y, "linear: output");
  const auto w = rows_of(weight, "linear: weight");
  if (weight.rank() != 2) fail("linear: weight must be [out, in], got ", weight.shape());
  if (w.cols != in.cols) fail("linear: input has ", in.cols, " features, weight ", weight.shape(), " expects ", w.cols);
  if (out.cols != w.rows || out.rows != in.rows)
    fail("linear: output ", y.shape(), " does not match ", in.rows, " rows x ", w.rows, " features");
  if (!bias.empty() && bias.numel() != w.rows) fail("linear: bias has ", bias.numel(), " elements, expected ", w.rows);
  kernels::active().matmul_nt(in.data, in.ld, w.data, w.ld, out.data, out.ld, in.rows, w.rows, in.cols,
                              bias.empty() ? nullptr : bias.data());
}

}  // namespace qkv::ops
