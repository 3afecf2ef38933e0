#pragma once
// Elementwise sum: the residual connection around every sub-layer.
#include "qkv/kernels/dispatch.hpp"
#include "qkv/ops/parallel.hpp"
#include "qkv/ops/rows.hpp"

namespace qkv::ops {

// out = a + b (the residual connection). out may alias a or b.
inline void add(TensorView<const float> a, TensorView<const float> b, TensorView<float> out) {
  const auto ra = rows_of(a, "add: a");
  const auto rb = rows_of(b, "add: b");
  const auto ro = rows_of(out, "add: output");
  if (ra.rows != rb.rows || ra.cols != rb.cols || ro.rows != ra.rows || ro.cols != ra.cols)
    fail("add: shapes ", a.shape(), ", ", b.shape(), " and ", out.shape(), " must match");
  const auto& kt = kernels::active();
  detail::split_rows(ra.rows, ra.cols, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) kt.add(ra.row(i), rb.row(i), ro.row(i), ra.cols);
  });
}

}  // namespace qkv::ops
