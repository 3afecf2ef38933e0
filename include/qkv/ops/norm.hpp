#pragma once
// LayerNorm (torch.nn.LayerNorm) and RMSNorm (HF LlamaRMSNorm / T5LayerNorm) over the last
// dimension. Both are two-pass and accurate when |mean| >> std.
#include "qkv/kernels/dispatch.hpp"
#include "qkv/ops/parallel.hpp"
#include "qkv/ops/rows.hpp"

namespace qkv::ops {

namespace detail {
inline void check_norm_args(const RowsView<const float>& in, const RowsView<float>& out, TensorView<const float> weight,
                            TensorView<const float> bias, const char* what) {
  if (out.rows != in.rows || out.cols != in.cols) fail(what, ": output shape differs from the input's");
  if (weight.numel() != in.cols) fail(what, ": weight has ", weight.numel(), " elements, expected ", in.cols);
  if (!bias.empty() && bias.numel() != in.cols) fail(what, ": bias has ", bias.numel(), " elements, expected ", in.cols);
}
}  // namespace detail

// y = (x - mean) / sqrt(var + eps) * weight + bias; bias may be empty. y may alias x.
inline void layer_norm(TensorView<const float> x, TensorView<const float> weight, TensorView<const float> bias, float eps,
                       TensorView<float> y) {
  const auto in = rows_of(x, "layer_norm: input");
  const auto out = rows_of(y, "layer_norm: output");
  detail::check_norm_args(in, out, weight, bias, "layer_norm");
  const auto& kt = kernels::active();
  detail::split_rows(in.rows, in.cols, [&](std::int64_t begin, std::int64_t end) {
    kt.layer_norm_rows(in.row(begin), in.ld, out.row(begin), out.ld, end - begin, in.cols, weight.data(),
                       bias.empty() ? nullptr : bias.data(), eps);
  });
}

// y = x / sqrt(mean(x^2) + eps) * weight. y may alias x.
inline void rms_norm(TensorView<const float> x, TensorView<const float> weight, float eps, TensorView<float> y) {
  const auto in = rows_of(x, "rms_norm: input");
  const auto out = rows_of(y, "rms_norm: output");
  detail::check_norm_args(in, out, weight, {}, "rms_norm");
  const auto& kt = kernels::active();
  detail::split_rows(in.rows, in.cols, [&](std::int64_t begin, std::int64_t end) {
    kt.rms_norm_rows(in.row(begin), in.ld, out.row(begin), out.ld, end - begin, in.cols, weight.data(), eps);
  });
}

}  // namespace qkv::ops
