#include "qkv/ops/norm.hpp"

#include "support/reference.hpp"

namespace qkv {
namespace {

// torch/ops/layernorm.safetensors: rows N(0,1); 1e4 + N(0,1); 1e4 N; 1e15 N; 1e-6 N; constant.
// The float64 answers are exact; torch's own float32 kernel misses them when |mean| >> std.
TEST(LayerNorm, MatchesFloat64ReferenceIncludingLargeMeans) {
  const auto file = test::open_data("torch/ops/layernorm.safetensors");
  test::for_each_isa([&](Isa) {
    for (int n : {1, 7, 33, 1000})
      for (const char* eps : {"1e-05", "1e-12"}) {
        const std::string p = "n" + std::to_string(n);
        const Tensor<float> x = file.to_float(p + ".x");
        Tensor<float> y(x.shape());
        ops::layer_norm(x, file.to_float(p + ".weight"), file.to_float(p + ".bias"), std::stof(eps), y);
        test::expect_close(y, file.to_float(p + ".y_eps" + std::string(eps) + "_f64"), 1e-5,
                           "layer_norm " + p + " eps " + eps);
      }
  });
}

TEST(LayerNorm, ConstantRowGivesBias) {
  Tensor<float> x({1, 4}, 3.0f), w({4}, 2.0f), b({4}), y({1, 4});
  for (int i = 0; i < 4; ++i) b(i) = float(i);
  ops::layer_norm(x, w, b, 1e-5f, y);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y(0, i), float(i));
}

TEST(RmsNorm, MatchesFloat64Reference) {
  const auto file = test::open_data("fixtures/ops_rmsnorm.safetensors");
  test::for_each_isa([&](Isa) {
    for (int n : {1, 7, 33, 1000}) {
      const std::string p = "n" + std::to_string(n);
      const Tensor<float> x = file.to_float(p + ".x");
      Tensor<float> y(x.shape());
      ops::rms_norm(x, file.to_float(p + ".weight"), 1e-6f, y);
      test::expect_close(y, file.to_float(p + ".y_eps1e-06_f64"), 1e-5, "rms_norm " + p);
    }
  });
}

TEST(Norms, RejectWrongWeightSize) {
  Tensor<float> x({2, 4}), w({3}), y({2, 4});
  EXPECT_THROW(ops::layer_norm(x, w, {}, 1e-5f, y), Error);
  EXPECT_THROW(ops::rms_norm(x, w, 1e-5f, y), Error);
}

}  // namespace
}  // namespace qkv
