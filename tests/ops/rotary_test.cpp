#include "qkv/ops/rotary.hpp"

#include <cmath>

#include "support/reference.hpp"

namespace qkv {
namespace {

// fixtures/ops_rotary.safetensors (tests/tools/make_rope_fixtures.py): torch float32 running HF's
// LlamaRotaryEmbedding.forward + apply_rotary_pos_emb on x [9 positions, 3 heads x 16].
struct RotaryCase {
  io::SafetensorsFile f = test::open_data("fixtures/ops_rotary.safetensors");
  Tensor<float> x = f.to_float("x"), inv_freq = f.to_float("inv_freq");
  Tensor<std::int64_t> positions = f.to_int64("positions");
};

TEST(Rotary, CosSinTablesMatchHf) {
  RotaryCase c;
  for (const char* label : {"", "_af1.25"}) {
    Tensor<float> cos({9, 8}), sin({9, 8});
    ops::rotary_tables(c.positions, c.inv_freq, label[0] ? 1.25f : 1.0f, cos, sin);
    // Positions up to 70000: the angle is the same float32 product as torch's; only cos/sin of it
    // may differ by an ulp.
    test::expect_close(cos, c.f.to_float(std::string("cos") + label), 2e-7, std::string("cos") + label);
    test::expect_close(sin, c.f.to_float(std::string("sin") + label), 2e-7, std::string("sin") + label);
  }
}

TEST(Rotary, RotatesEveryHeadLikeHfApplyRotaryPosEmb) {
  RotaryCase c;
  for (const char* label : {"", "_af1.25"}) {
    Tensor<float> y = Tensor<float>::copy_of(c.x);
    for (int h = 0; h < 3; ++h) ops::rotary(y.view().narrow(1, h * 16, 16), c.positions, c.inv_freq, label[0] ? 1.25f : 1.0f);
    test::expect_close(y, c.f.to_float(std::string("y") + label), 1e-6, std::string("rotary y") + label);
  }
}

TEST(Rotary, PartialRotaryLeavesTheRemainingFeatures) {
  RotaryCase c;
  Tensor<float> y = Tensor<float>::copy_of(c.x);
  const Tensor<float> inv8 = c.f.to_float("partial.inv_freq");  // 4 frequencies: 8 of 16 features rotate
  for (int h = 0; h < 3; ++h) ops::rotary(y.view().narrow(1, h * 16, 16), c.positions, inv8);
  test::expect_close(y, c.f.to_float("partial.y"), 1e-6, "partial rotary y");
  for (int t = 0; t < 9; ++t)
    for (int j = 8; j < 16; ++j) EXPECT_EQ(y(t, 16 + j), c.x(t, 16 + j));
}

TEST(Rotary, ScoresDependOnlyOnTheDistanceBetweenPositions) {
  // RoPE's point: <rot(q, p), rot(k, p')> depends on p - p' only. Shift both by 1000.
  RotaryCase c;
  Tensor<float> q({2, 16}), k({2, 16});
  for (int j = 0; j < 16; ++j) q(0, j) = q(1, j) = c.x(0, j), k(0, j) = k(1, j) = c.x(1, j);
  Tensor<std::int64_t> qpos({2}), kpos({2});
  qpos(0) = 7, kpos(0) = 3, qpos(1) = 1007, kpos(1) = 1003;
  ops::rotary(q, qpos, c.inv_freq);
  ops::rotary(k, kpos, c.inv_freq);
  double near = 0, far = 0;
  for (int j = 0; j < 16; ++j) near += double(q(0, j)) * k(0, j), far += double(q(1, j)) * k(1, j);
  EXPECT_NEAR(near, far, 1e-4);
}

TEST(Rotary, RejectsBadArguments) {
  RotaryCase c;
  Tensor<float> narrow({9, 15});  // fewer than 2 * 8 features
  EXPECT_THROW(ops::rotary(narrow, c.positions, c.inv_freq), Error);
  Tensor<std::int64_t> negative({9});
  negative(4) = -1;
  Tensor<float> y = Tensor<float>::copy_of(c.x);
  try {
    ops::rotary(y.view().narrow(1, 0, 16), negative, c.inv_freq);
    FAIL() << "expected qkv::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("position -1"), std::string::npos) << e.what();
  }
  Tensor<float> cos({8, 8}), sin({8, 8});  // 8 rows for 9 positions
  EXPECT_THROW(ops::rotary_tables(c.positions, c.inv_freq, 1.0f, cos, sin), Error);
}

}  // namespace
}  // namespace qkv
