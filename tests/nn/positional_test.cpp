#include "qkv/nn/positional.hpp"

#include "support/reference.hpp"

namespace qkv {
namespace {

// fixtures/nn_positions.safetensors: float64 tables, 64 positions.
TEST(Sinusoidal, InterleavedAndHalvesLayoutsMatchReference) {
  const auto file = test::open_data("fixtures/nn_positions.safetensors");
  for (int d : {8, 32, 512}) {
    const std::string suffix = ".d" + std::to_string(d) + "_f64";
    test::expect_close(nn::sinusoidal_table(64, d, nn::SinusoidLayout::interleaved), file.to_float("sinusoidal" + suffix),
                       1e-6, "sinusoidal interleaved d" + std::to_string(d));
    test::expect_close(nn::sinusoidal_table(64, d, nn::SinusoidLayout::halves), file.to_float("marian" + suffix), 1e-6,
                       "sinusoidal halves d" + std::to_string(d));
  }
}

TEST(Sinusoidal, FirstRowsByHand) {
  const Tensor<float> t = nn::sinusoidal_table(2, 4, nn::SinusoidLayout::interleaved);
  // Position 0: sin 0 = 0, cos 0 = 1. Position 1: w_0 = 1, w_1 = 10000^(-1/2) = 0.01.
  EXPECT_EQ(t(0, 0), 0.0f);
  EXPECT_EQ(t(0, 1), 1.0f);
  EXPECT_FLOAT_EQ(t(1, 0), std::sin(1.0f));
  EXPECT_FLOAT_EQ(t(1, 1), std::cos(1.0f));
  EXPECT_FLOAT_EQ(t(1, 2), std::sin(0.01f));
  EXPECT_FLOAT_EQ(t(1, 3), std::cos(0.01f));
}

TEST(PositionalEncoding, AddsRowsFromStartAndOffset) {
  Tensor<float> table({6, 2});
  for (int i = 0; i < 12; ++i) table.data()[i] = float(i);
  nn::PositionalEncoding pe{table.view(), 2};  // BART-style offset: position p reads row p + 2
  EXPECT_EQ(pe.max_positions(), 4);
  Tensor<float> x({1, 2, 2}, 100.0f);
  pe.add_to(x, 1);  // positions 1 and 2 -> rows 3 and 4
  EXPECT_EQ(x(0, 0, 0), 106.0f);
  EXPECT_EQ(x(0, 0, 1), 107.0f);
  EXPECT_EQ(x(0, 1, 0), 108.0f);
  EXPECT_EQ(x(0, 1, 1), 109.0f);
}

TEST(PositionalEncoding, SequenceLongerThanTableIsAnError) {
  Tensor<float> table({4, 2});
  nn::PositionalEncoding pe{table.view(), 0};
  Tensor<float> x({1, 5, 2});
  try {
    pe.add_to(x);
    FAIL() << "expected qkv::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sequence too long"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qkv
