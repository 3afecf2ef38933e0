#pragma once
// Ops treat a tensor as a matrix of rows over its last dimension. RowsView is that matrix:
// the leading dimensions must collapse into one row index with a uniform row stride.
#include <cstdint>
#include <string>

#include "qkv/core/error.hpp"
#include "qkv/core/tensor.hpp"

namespace qkv::ops {

template <class T>
struct RowsView {
  T* data;
  std::int64_t rows, cols, ld;  // ld: elements between the starts of consecutive rows
  T* row(std::int64_t r) const { return data + r * ld; }
};

template <class T>
RowsView<T> rows_of(const TensorView<T>& v, const char* what) {
  if (v.rank() == 0) return {v.data(), 1, 1, 1};
  const int last = v.rank() - 1;
  if (v.dim(last) > 1 && v.stride(last) != 1) fail(what, ": the last dimension must be contiguous");
  const std::int64_t cols = v.dim(last);
  const std::int64_t rows = cols == 0 ? 0 : v.numel() / cols;
  std::int64_t ld = last > 0 ? v.stride(last - 1) : cols;
  // Each leading dimension must step over whole blocks of the one after it.
  for (int d = last - 2; d >= 0; --d)
    if (v.dim(d) > 1 && v.stride(d) != v.stride(d + 1) * v.dim(d + 1)) fail(what, ": leading dimensions are not uniformly strided");
  if (rows <= 1) ld = cols;
  return {v.data(), rows, cols, ld};
}

}  // namespace qkv::ops
