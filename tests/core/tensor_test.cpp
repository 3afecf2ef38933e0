#include "qkv/core/tensor.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace qkv {
namespace {

TEST(Shape, CountsElementsAndRejectsBadDimensions) {
  EXPECT_EQ(Shape({2, 3, 4}).numel(), 24);
  EXPECT_EQ(Shape({}).numel(), 1);
  EXPECT_EQ(Shape({5, 0}).numel(), 0);
  EXPECT_EQ(Shape({2, 3}).str(), "[2, 3]");
  EXPECT_THROW(Shape({2, -1}), Error);
  EXPECT_THROW(Shape({1, 1, 1, 1, 1, 1, 1}), Error);
}

TEST(Tensor, IsZeroInitialisedAnd64ByteAligned) {
  for (std::int64_t n : {1, 3, 17, 1000}) {
    Tensor<float> t({n});
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % 64, 0u);
    for (std::int64_t i = 0; i < n; ++i) EXPECT_EQ(t(i), 0.0f);
  }
}

TEST(TensorView, SelectNarrowAndReshapeShareStorage) {
  Tensor<int> t({2, 3, 4});
  for (int i = 0; i < 24; ++i) t.data()[i] = i;
  const auto v = t.view();
  EXPECT_EQ(v(1, 2, 3), 23);
  const auto plane = v.select(1);  // [3, 4] starting at 12
  EXPECT_EQ(plane.shape(), Shape({3, 4}));
  EXPECT_EQ(plane(0, 0), 12);
  const auto cols = v.narrow(2, 1, 2);  // [2, 3, 2], strides unchanged
  EXPECT_EQ(cols.shape(), Shape({2, 3, 2}));
  EXPECT_EQ(cols(1, 0, 0), 13);
  EXPECT_FALSE(cols.is_contiguous());
  EXPECT_THROW(cols.reshape({12}), Error);
  const auto flat = v.reshape({6, 4});
  EXPECT_EQ(flat(5, 3), 23);
  EXPECT_THROW(v.reshape({5, 5}), Error);
  cols(0, 0, 0) = -1;
  EXPECT_EQ(t(0, 0, 1), -1);
}

TEST(Tensor, CopyOfAStridedViewIsContiguous) {
  Tensor<float> t({3, 4});
  for (int i = 0; i < 12; ++i) t.data()[i] = float(i);
  const Tensor<float> c = Tensor<float>::copy_of(t.view().narrow(1, 1, 2));
  ASSERT_EQ(c.shape(), Shape({3, 2}));
  const float expected[] = {1, 2, 5, 6, 9, 10};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(c.data()[i], expected[i]);
}

TEST(TensorView, EigenMapRespectsRowStride) {
  Tensor<float> t({2, 5});
  for (int i = 0; i < 10; ++i) t.data()[i] = float(i);
  const TensorView<const float> window = t.view().narrow(1, 2, 3);
  const auto m = window.matrix();
  EXPECT_EQ(m.rows(), 2);
  EXPECT_EQ(m.cols(), 3);
  EXPECT_EQ(m(1, 0), 7.0f);
  EXPECT_EQ(m.sum(), 2 + 3 + 4 + 7 + 8 + 9);
  t.view().narrow(1, 0, 2).matrix().setConstant(-1.0f);
  EXPECT_EQ(t(1, 1), -1.0f);
  EXPECT_EQ(t(1, 2), 7.0f);
}

TEST(TensorView, ExpectShapeNamesTheTensor) {
  Tensor<float> t({2, 3});
  try {
    expect_shape(t.view(), {3, 2}, "tensor 'w'");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tensor 'w': expected shape [3, 2], got [2, 3]");
  }
}

}  // namespace
}  // namespace qkv
