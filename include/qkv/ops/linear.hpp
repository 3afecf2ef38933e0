#pragma once
// y = x W^T + b, with W in PyTorch's nn.Linear layout [out_features, in_features], either as a
// plain view or packed once into the GEMM's panels (PackedWeights). The output (its rows when
// there are enough, else its columns) is split over the thread pool; every element is computed by
// the same code whatever the split, so results do not depend on the thread count.
#include <algorithm>
#include <vector>

#include "qkv/core/workspace.hpp"
#include "qkv/kernels/dispatch.hpp"
#include "qkv/kernels/packing.hpp"
#include "qkv/ops/parallel.hpp"
#include "qkv/ops/rows.hpp"

namespace qkv::ops {

// A weight in the GEMM's panel layout (kernels/packing.hpp). A view: the storage (a Tensor made
// by pack_weight) belongs to the model.
struct PackedWeights {
  const float* panels = nullptr;
  std::int64_t out_features = 0, in_features = 0;
  bool empty() const { return panels == nullptr; }
};

// weight [out, in] (nn.Linear), or with k_major [in, out] (HF's Conv1D), into panels:
// [panel_count(out), in, 16] floats.
inline Tensor<float> pack_weight(TensorView<const float> weight, bool k_major = false) {
  const auto w = rows_of(weight, "pack_weight");
  if (weight.rank() != 2) fail("pack_weight: expected a matrix, got ", weight.shape());
  const std::int64_t out = k_major ? w.cols : w.rows, in = k_major ? w.rows : w.cols;
  Tensor<float> panels({kernels::panel_count(out), in, kernels::kPanelWidth});
  kernels::pack_panels(w.data, w.ld, out, in, k_major, panels.data());
  return panels;
}

// The view of panels made by pack_weight for a weight with out_features rows.
inline PackedWeights packed_view(TensorView<const float> panels, std::int64_t out_features) {
  if (panels.rank() != 3 || panels.dim(0) != kernels::panel_count(out_features) || panels.dim(2) != kernels::kPanelWidth)
    fail("packed weight ", panels.shape(), " does not hold ", out_features, " output features");
  return {panels.data(), out_features, panels.dim(1)};
}

// Output columns the panels of a weight with out_features outputs span: whole panels of 16.
inline std::int64_t packed_width(std::int64_t out_features) {
  return kernels::panel_count(out_features) * kernels::kPanelWidth;
}

// Weights [out_i, in] (with k_major [in, out_i]) packed one after another into one weight: weight
// i's panels start at output column sum_{j < i} packed_width(out_j), so one product gives all of
// their outputs side by side (the gaps are zero weights).
inline Tensor<float> pack_weights_side_by_side(const std::vector<TensorView<const float>>& weights, bool k_major) {
  if (weights.empty()) fail("pack_weights_side_by_side: no weights");
  const std::int64_t in = k_major ? weights[0].dim(0) : weights[0].dim(1);
  std::int64_t panels = 0;
  for (const auto& weight : weights) {
    if (weight.rank() != 2 || (k_major ? weight.dim(0) : weight.dim(1)) != in)
      fail("pack_weights_side_by_side: weight ", weight.shape(), " does not take ", in, " inputs");
    panels += kernels::panel_count(k_major ? weight.dim(1) : weight.dim(0));
  }
  Tensor<float> packed({panels, in, kernels::kPanelWidth});
  std::int64_t panel = 0;
  for (const auto& weight : weights) {
    const auto w = rows_of(weight, "pack_weights_side_by_side");
    const std::int64_t out = k_major ? w.cols : w.rows;
    kernels::pack_panels(w.data, w.ld, out, in, k_major, packed.data() + panel * in * kernels::kPanelWidth);
    panel += kernels::panel_count(out);
  }
  return packed;
}

// The part of packed weights whose out_features outputs start at output column first_column (a
// multiple of 16: where pack_weights_side_by_side put it).
inline PackedWeights packed_part(TensorView<const float> panels, std::int64_t first_column, std::int64_t out_features) {
  if (first_column % kernels::kPanelWidth != 0) fail("packed_part: column ", first_column, " does not start a panel");
  return packed_view(panels.narrow(0, first_column / kernels::kPanelWidth, kernels::panel_count(out_features)),
                     out_features);
}

namespace detail {
// Fewest rows a thread takes when a packed product splits its rows (below, it splits columns).
inline constexpr std::int64_t kRowsPerTask = 16;

struct LinearShape {
  RowsView<const float> in;
  RowsView<float> out;
};

inline LinearShape check_linear(TensorView<const float> x, std::int64_t out_features, std::int64_t in_features,
                                TensorView<const float> bias, TensorView<float> y, const Shape& weight_shape) {
  const auto in = rows_of(x, "linear: input");
  const auto out = rows_of(y, "linear: output");
  if (in_features != in.cols) fail("linear: input has ", in.cols, " features, weight ", weight_shape, " expects ", in_features);
  if (out.cols != out_features || out.rows != in.rows)
    fail("linear: output ", y.shape(), " does not match ", in.rows, " rows x ", out_features, " features");
  if (!bias.empty() && bias.numel() != out_features)
    fail("linear: bias has ", bias.numel(), " elements, expected ", out_features);
  return {in, out};
}
}  // namespace detail

// x [..., in], weight [out, in], bias [out] or empty, y [..., out] (same leading dims as x).
inline void linear(TensorView<const float> x, TensorView<const float> weight, TensorView<const float> bias,
                   TensorView<float> y) {
  if (weight.rank() != 2) fail("linear: weight must be [out, in], got ", weight.shape());
  const auto w = rows_of(weight, "linear: weight");
  const auto [in, out] = detail::check_linear(x, w.rows, w.cols, bias, y, weight.shape());
  const auto& kt = kernels::active();
  const float* b = bias.empty() ? nullptr : bias.data();
  detail::split_columns(in.rows * w.rows * w.cols, w.rows, 4, [&](std::int64_t begin, std::int64_t end) {
    kt.matmul_nt(in.data, in.ld, w.row(begin), w.ld, out.data + begin, out.ld, in.rows, end - begin, in.cols,
                 b ? b + begin : nullptr);
  });
}

// The same with a packed weight.
inline void linear(TensorView<const float> x, const PackedWeights& weight, TensorView<const float> bias,
                   TensorView<float> y) {
  const auto [in, out] = detail::check_linear(x, weight.out_features, weight.in_features, bias, y,
                                              Shape{weight.out_features, weight.in_features});
  const auto& kt = kernels::active();
  const float* b = bias.empty() ? nullptr : bias.data();
  const std::int64_t panels = kernels::panel_count(weight.out_features), k = weight.in_features;
  const std::int64_t work = in.rows * weight.out_features * k;
  // With enough rows each thread takes its own rows, packs them itself and streams all the panels
  // (shared in L3): no packed rows cross cores and it is one parallel region, not two. 2-7% faster
  // than splitting columns at M = 32..128 on 2 threads; the same at M = 512.
  const std::int64_t row_tasks = detail::task_count(work, in.rows / detail::kRowsPerTask);
  if (row_tasks > 1) {
    return detail::split_range(row_tasks, in.rows, 8, [&](std::int64_t begin, std::int64_t end) {
      kt.matmul_packed(in.data + begin * in.ld, in.ld, weight.panels, out.data + begin * out.ld, out.ld, end - begin,
                       weight.out_features, k, 0, panels, b);
    });
  }
  const std::int64_t tasks = detail::task_count(work, (panels + 1) / 2);
  // A few rows are quicker packed again by every thread than packed once and passed between cores
  // (M = 8 on 2 threads: 193 -> 216 GFLOP/s at 768 x 768); one row needs no packing at all.
  if (in.rows <= detail::kRowsPerTask) {
    return detail::split_range(tasks, panels, 2, [&](std::int64_t begin, std::int64_t end) {
      kt.matmul_packed(in.data, in.ld, weight.panels, out.data, out.ld, in.rows, weight.out_features, k, begin, end, b);
    });
  }
  // A is packed once (by the threads together) rather than by each thread, block by block.
  Workspace::Scope scratch(current_workspace());
  const std::int64_t tile = kt.gemm_row_tile(in.rows);
  const auto rows = scratch.take<float>({kernels::packed_gemm_rows_size(in.rows, k, tile)});
  const std::int64_t tiles = (in.rows + tile - 1) / tile;
  detail::split_range(std::min(tasks, tiles), in.rows, tile, [&](std::int64_t begin, std::int64_t end) {
    kt.pack_gemm_rows(in.data, in.ld, in.rows, k, begin, end, rows.data());
  });
  detail::split_range(tasks, panels, 2, [&](std::int64_t begin, std::int64_t end) {
    kt.matmul_prepacked(rows.data(), weight.panels, out.data, out.ld, in.rows, weight.out_features, k, begin, end, b);
  });
}

}  // namespace qkv::ops
