#include "qkv/ops/softmax.hpp"

#include <limits>

#include "support/reference.hpp"

namespace qkv {
namespace {

// torch/ops/softmax.safetensors: rows with huge, tiny, -inf and finfo.min entries; y_f64 exact.
TEST(Softmax, MatchesFloat64ReferenceOnExtremeRows) {
  const auto file = test::open_data("torch/ops/softmax.safetensors");
  test::for_each_isa([&](Isa) {
    for (int n : {1, 7, 33, 1000}) {
      const std::string p = "n" + std::to_string(n);
      Tensor<float> x = file.to_float(p + ".x");
      ops::softmax(x);
      test::expect_close(x, file.to_float(p + ".y_f64"), 1e-5, "softmax " + p);
    }
  });
}

TEST(Softmax, FullyMaskedRowIsZeroNotNaN) {
  const auto file = test::open_data("torch/ops/softmax.safetensors");
  Tensor<float> x = file.to_float("allneginf.x");
  ops::softmax(x);
  for (std::int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(x.data()[i], 0.0f);
}

TEST(Softmax, WorksOnStridedRows) {
  // Two rows of 3 inside rows of 5: the padding columns must stay untouched.
  Tensor<float> storage({2, 5}, 7.0f);
  TensorView<float> v = storage.view().narrow(1, 1, 3);
  v(0, 0) = 0.0f, v(0, 1) = std::log(2.0f), v(0, 2) = std::log(5.0f);
  v(1, 0) = -std::numeric_limits<float>::infinity(), v(1, 1) = 1.0f, v(1, 2) = 1.0f;
  ops::softmax(v);
  EXPECT_NEAR(v(0, 0), 1.0 / 8, 1e-7);
  EXPECT_NEAR(v(0, 1), 2.0 / 8, 1e-7);
  EXPECT_NEAR(v(0, 2), 5.0 / 8, 1e-7);
  EXPECT_EQ(v(1, 0), 0.0f);
  EXPECT_NEAR(v(1, 1), 0.5, 1e-7);
  EXPECT_EQ(storage(0, 0), 7.0f);
  EXPECT_EQ(storage(1, 4), 7.0f);
}

}  // namespace
}  // namespace qkv
