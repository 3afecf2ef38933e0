#pragma once
// Softmax over the last dimension, in place. Subtracts the row maximum first, so large scores
// do not overflow; a row that is entirely -inf (a query allowed to see nothing) becomes all 0
// instead of NaN.
#include "qkv/kernels/dispatch.hpp"
#include "qkv/ops/rows.hpp"

namespace qkv::ops {

inline void softmax(TensorView<float> x) {
  const auto r = rows_of(x, "softmax");
  kernels::active().softmax_rows(r.data, r.rows, r.cols, r.ld);
}

}  // namespace qkv::ops
