#include "qkv/ops/activation.hpp"

#include <cmath>
#include <limits>

#include "support/reference.hpp"

namespace qkv {
namespace {

// torch/ops/activations.safetensors: inputs include 0, -0, +-1e-30, +-20, +-1e4, +-1e30.
TEST(Activation, MatchesFloat64References) {
  const auto file = test::open_data("torch/ops/activations.safetensors");
  const std::pair<Activation, const char*> cases[] = {
      {Activation::gelu_erf, "gelu_exact"}, {Activation::gelu_tanh, "gelu_tanh"}, {Activation::silu, "silu"}};
  test::for_each_isa([&](Isa) {
    for (int n : {1, 7, 33, 1000})
      for (const auto& [act, name] : cases) {
        const std::string p = "n" + std::to_string(n);
        Tensor<float> x = file.to_float(p + ".x");
        ops::activate(act, x);
        test::expect_close(x, file.to_float(p + "." + name + "_f64"), 1e-5, std::string(name) + " " + p);
      }
  });
}

TEST(Activation, ReluByHand) {
  const float inf = std::numeric_limits<float>::infinity();
  Tensor<float> x({5});
  x(0) = -2.0f, x(1) = 0.0f, x(2) = 3.5f, x(3) = -inf, x(4) = inf;
  ops::activate(Activation::relu, x);
  EXPECT_EQ(x(0), 0.0f);
  EXPECT_EQ(x(1), 0.0f);
  EXPECT_EQ(x(2), 3.5f);
  EXPECT_EQ(x(3), 0.0f);
  EXPECT_EQ(x(4), inf);
}

// torch: act([inf, -inf, nan]) = [inf, nan, nan] for GELU (both) and SiLU.
TEST(Activation, SpecialValuesFollowTorch) {
  const auto file = test::open_data("torch/ops/activations.safetensors");
  for (Activation act : {Activation::gelu_erf, Activation::gelu_tanh, Activation::silu}) {
    Tensor<float> x = file.to_float("special.x");
    ops::activate(act, x);
    EXPECT_EQ(x(0), std::numeric_limits<float>::infinity());
    EXPECT_TRUE(std::isnan(x(1)));
    EXPECT_TRUE(std::isnan(x(2)));
  }
}

TEST(Activation, GatedIsActivationOfGateTimesUp) {
  Tensor<float> gate({3}), up({3}), out({3});
  gate(0) = 1.0f, gate(1) = -1.0f, gate(2) = 0.0f;
  up(0) = 2.0f, up(1) = 3.0f, up(2) = 4.0f;
  ops::activate_gated(Activation::silu, gate, up, out);
  EXPECT_NEAR(out(0), 2.0 * (1.0 / (1.0 + std::exp(-1.0))), 1e-6);
  EXPECT_NEAR(out(1), 3.0 * (-1.0 / (1.0 + std::exp(1.0))), 1e-6);
  EXPECT_EQ(out(2), 0.0f);
}

TEST(Activation, ConfigNames) {
  EXPECT_EQ(ops::parse_activation("gelu"), Activation::gelu_erf);
  EXPECT_EQ(ops::parse_activation("gelu_new"), Activation::gelu_tanh);
  EXPECT_EQ(ops::parse_activation("swish"), Activation::silu);
  EXPECT_THROW(ops::parse_activation("mish", "hidden_act"), Error);
  try {
    ops::parse_activation("mish", "hidden_act");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hidden_act"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("mish"), std::string::npos);
  }
}

}  // namespace
}  // namespace qkv
