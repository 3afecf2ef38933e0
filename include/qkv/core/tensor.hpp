#pragma once
// Tensor<T>: owning, 64-byte aligned, row-major, rank 0..6 (models use up to 4; reference
// files hold rank-5 stacks such as attentions [layers, batch, heads, query, key]).
// TensorView<T>: non-owning window onto such memory (or a mapped file) with explicit strides,
// so a view can select rows, narrow a dimension or split heads without copying.
#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>

#include <Eigen/Core>

#include "qkv/core/error.hpp"

namespace qkv {

inline constexpr int kMaxRank = 6;
inline constexpr std::size_t kTensorAlignment = 64;

// The extents of a tensor; unused trailing dimensions are 1 so numel() is a plain product.
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims) {
    if (dims.size() > std::size_t(kMaxRank)) fail("Shape: rank ", dims.size(), " exceeds ", kMaxRank);
    for (std::int64_t d : dims) {
      if (d < 0) fail("Shape: negative dimension ", d);
      dims_[std::size_t(rank_++)] = d;
    }
  }
  template <class It>
  static Shape from_range(It begin, It end) {
    Shape s;
    for (; begin != end; ++begin) {
      if (s.rank_ == kMaxRank) fail("Shape: rank exceeds ", kMaxRank);
      if (*begin < 0) fail("Shape: negative dimension ", *begin);
      s.dims_[std::size_t(s.rank_++)] = std::int64_t(*begin);
    }
    return s;
  }

  int rank() const { return rank_; }
  std::int64_t operator[](int i) const {
    assert(i >= 0 && i < rank_);
    return dims_[std::size_t(i)];
  }
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[std::size_t(i)];
    return n;
  }
  bool operator==(const Shape& o) const {
    if (rank_ != o.rank_) return false;
    for (int i = 0; i < rank_; ++i)
      if (dims_[std::size_t(i)] != o.dims_[std::size_t(i)]) return false;
    return true;
  }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[std::size_t(i)]);
    return s + "]";
  }

 private:
  std::array<std::int64_t, kMaxRank> dims_{1, 1, 1, 1, 1, 1};
  int rank_ = 0;
};

inline std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

// Strides (in elements) of a contiguous row-major tensor of this shape.
inline std::array<std::int64_t, kMaxRank> contiguous_strides(const Shape& s) {
  std::array<std::int64_t, kMaxRank> st{1, 1, 1, 1, 1, 1};
  std::int64_t step = 1;
  for (int i = s.rank() - 1; i >= 0; --i) {
    st[std::size_t(i)] = step;
    step *= s[i];
  }
  return st;
}

template <class T>
using RowMajorMatrix = Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class T>
class TensorView {
 public:
  using Strides = std::array<std::int64_t, kMaxRank>;
  TensorView() = default;
  TensorView(T* data, Shape shape) : data_(data), shape_(shape), strides_(contiguous_strides(shape)) {}
  TensorView(T* data, Shape shape, Strides strides) : data_(data), shape_(shape), strides_(strides) {}
  // A view of const T from a view of T.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
  TensorView(const TensorView<U>& o) : data_(o.data()), shape_(o.shape()), strides_(o.strides()) {}

  T* data() const { return data_; }
  const Shape& shape() const { return shape_; }
  const Strides& strides() const { return strides_; }
  int rank() const { return shape_.rank(); }
  std::int64_t dim(int i) const { return shape_[i]; }
  std::int64_t stride(int i) const { return strides_[std::size_t(i)]; }
  std::int64_t numel() const { return shape_.numel(); }
  bool empty() const { return data_ == nullptr; }
  bool is_contiguous() const {
    const Strides c = contiguous_strides(shape_);
    for (int i = 0; i < rank(); ++i)
      if (shape_[i] > 1 && strides_[std::size_t(i)] != c[std::size_t(i)]) return false;
    return true;
  }

  T& operator()(std::int64_t i) const { return data_[i * strides_[0]]; }
  T& operator()(std::int64_t i, std::int64_t j) const { return data_[i * strides_[0] + j * strides_[1]]; }
  T& operator()(std::int64_t i, std::int64_t j, std::int64_t k) const {
    return data_[i * strides_[0] + j * strides_[1] + k * strides_[2]];
  }
  T& operator()(std::int64_t i, std::int64_t j, std::int64_t k, std::int64_t l) const {
    return data_[i * strides_[0] + j * strides_[1] + k * strides_[2] + l * strides_[3]];
  }

  // The sub-tensor at index i of the first dimension (rank drops by one).
  TensorView select(std::int64_t i) const {
    assert(rank() >= 1 && i >= 0 && i < dim(0));
    Shape s;
    Strides st{1, 1, 1, 1, 1, 1};
    std::array<std::int64_t, kMaxRank> d{};
    for (int k = 1; k < rank(); ++k) {
      d[std::size_t(k - 1)] = dim(k);
      st[std::size_t(k - 1)] = stride(k);
    }
    s = Shape::from_range(d.begin(), d.begin() + (rank() - 1));
    return TensorView(data_ + i * strides_[0], s, st);
  }

  // Elements [start, start + length) of dimension `axis`.
  TensorView narrow(int axis, std::int64_t start, std::int64_t length) const {
    assert(axis >= 0 && axis < rank() && start >= 0 && length >= 0 && start + length <= dim(axis));
    std::array<std::int64_t, kMaxRank> d{};
    for (int k = 0; k < rank(); ++k) d[std::size_t(k)] = dim(k);
    d[std::size_t(axis)] = length;
    return TensorView(data_ + start * strides_[std::size_t(axis)], Shape::from_range(d.begin(), d.begin() + rank()),
                      strides_);
  }

  // The same contiguous elements under another shape of equal numel.
  TensorView reshape(Shape s) const {
    if (!is_contiguous()) fail("TensorView::reshape: the view is not contiguous");
    if (s.numel() != numel()) fail("TensorView::reshape: ", shape_, " has ", numel(), " elements, ", s, " has ", s.numel());
    return TensorView(data_, s);
  }

  // Eigen view of a rank-2 tensor whose rows are contiguous (row stride may exceed the width).
  auto matrix() const {
    using Stride = Eigen::OuterStride<>;
    assert(rank() == 2 && (dim(1) <= 1 || stride(1) == 1));
    using M = std::conditional_t<std::is_const_v<T>, const RowMajorMatrix<T>, RowMajorMatrix<T>>;
    return Eigen::Map<M, Eigen::Unaligned, Stride>(data_, dim(0), dim(1), Stride(stride(0)));
  }

 private:
  T* data_ = nullptr;
  Shape shape_;
  Strides strides_{1, 1, 1, 1, 1, 1};
};

template <class T>
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape) : shape_(shape), data_(allocate(std::size_t(shape.numel()))) {}
  Tensor(Shape shape, T fill) : shape_(shape), data_(allocate(std::size_t(shape.numel()), false)) {
    std::fill(data_.get(), data_.get() + numel(), fill);
  }
  // A tensor whose elements are not initialised, for outputs that are written in full.
  static Tensor uninitialized(Shape shape) { return Tensor(shape, Uninitialized{}); }
  // A contiguous copy of any view.
  static Tensor copy_of(TensorView<const T> v) {
    Tensor t = uninitialized(v.shape());
    std::array<std::int64_t, kMaxRank> index{};  // odometer over v's dimensions, last fastest
    for (std::int64_t n = 0; n < t.numel(); ++n) {
      std::int64_t offset = 0;
      for (int d = 0; d < v.rank(); ++d) offset += index[std::size_t(d)] * v.stride(d);
      t.data_[std::size_t(n)] = v.data()[offset];
      for (int d = v.rank() - 1; d >= 0 && ++index[std::size_t(d)] == v.dim(d); --d) index[std::size_t(d)] = 0;
    }
    return t;
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  std::int64_t dim(int i) const { return shape_[i]; }
  std::int64_t numel() const { return shape_.numel(); }

  TensorView<T> view() { return TensorView<T>(data(), shape_); }
  TensorView<const T> view() const { return TensorView<const T>(data(), shape_); }
  operator TensorView<T>() { return view(); }
  operator TensorView<const T>() const { return view(); }

  template <class... I>
  T& operator()(I... i) { return view()(std::int64_t(i)...); }
  template <class... I>
  const T& operator()(I... i) const { return view()(std::int64_t(i)...); }

 private:
  struct Uninitialized {};
  Tensor(Shape shape, Uninitialized) : shape_(shape), data_(allocate(std::size_t(shape.numel()), false)) {}

  struct AlignedFree {
    void operator()(T* p) const { ::operator delete[](p, std::align_val_t(kTensorAlignment)); }
  };
  static std::unique_ptr<T[], AlignedFree> allocate(std::size_t n, bool zero = true) {
    static_assert(std::is_trivially_copyable_v<T>, "Tensor holds plain numbers");
    if (n == 0) return nullptr;
    T* p = static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t(kTensorAlignment)));
    if (zero) std::fill(p, p + n, T{});
#ifndef NDEBUG
    else std::memset(static_cast<void*>(p), 0xff, n * sizeof(T));  // NaN / -1: a read before the first write shows in tests
#endif
    return std::unique_ptr<T[], AlignedFree>(p);
  }

  Shape shape_;
  std::unique_ptr<T[], AlignedFree> data_;
};

// Throws unless `v` has exactly the expected shape; `what` names the tensor or argument (a view:
// a check on the hot path must not build a std::string).
template <class T>
void expect_shape(const TensorView<T>& v, const Shape& expected, std::string_view what) {
  if (v.shape() != expected) fail(what, ": expected shape ", expected, ", got ", v.shape());
}

}  // namespace qkv
