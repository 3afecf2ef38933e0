#include "qkv/ops/linear.hpp"

#include "support/hf_case.hpp"
#include "support/reference.hpp"

namespace qkv {
namespace {

// fixtures/ops_linear.safetensors: y = x W^T + b in float64, for M x K x N from 1 to 1000.
TEST(Linear, MatchesFloat64Reference) {
  const auto file = test::open_data("fixtures/ops_linear.safetensors");
  test::for_each_isa([&](Isa) {
    for (const char* c : {"m1_k1_n1", "m7_k33_n7", "m33_k7_n1000", "m3_k1000_n33", "m1_k1000_n7"}) {
      const std::string p = c;
      const Tensor<float> x = file.to_float(p + ".x"), w = file.to_float(p + ".weight"), b = file.to_float(p + ".bias");
      Tensor<float> y({x.dim(0), w.dim(0)});
      ops::linear(x, w, b, y);
      test::expect_close(y, file.to_float(p + ".y"), 1e-5, "linear " + p);
      ops::linear(x, w, {}, y);
      test::expect_close(y, file.to_float(p + ".y_nobias"), 1e-5, "linear (no bias) " + p);
    }
  });
}

TEST(Linear, AcceptsBatchedInputAndStridedViews) {
  // x [2, 2, 3] against W [2, 3], computed by hand; the output is a column window of a wider buffer.
  Tensor<float> x({2, 2, 3}), w({2, 3}), out({2, 2, 4}, -1.0f);
  for (int i = 0; i < 12; ++i) x.data()[i] = float(i);
  for (int i = 0; i < 6; ++i) w.data()[i] = float(i % 3 == 0 ? 1 : 0) + (i == 5 ? 2.0f : 0.0f);  // rows [1,0,0], [1,0,2]
  const auto y = out.view().narrow(2, 1, 2);
  ops::linear(x, w, {}, y);
  for (int r = 0; r < 4; ++r) {
    const float* xr = x.data() + 3 * r;
    EXPECT_EQ(out.data()[4 * r + 1], xr[0]);
    EXPECT_EQ(out.data()[4 * r + 2], xr[0] + 2 * xr[2]);
    EXPECT_EQ(out.data()[4 * r + 0], -1.0f);
    EXPECT_EQ(out.data()[4 * r + 3], -1.0f);
  }
}

TEST(Linear, RejectsMismatchedShapes) {
  Tensor<float> x({2, 3}), w({4, 5}), y({2, 4});
  EXPECT_THROW(ops::linear(x, w, {}, y), Error);
  Tensor<float> w2({4, 3}), bad_bias({3}), bad_y({2, 5});
  EXPECT_THROW(ops::linear(x, w2, bad_bias, y), Error);
  EXPECT_THROW(ops::linear(x, w2, {}, bad_y), Error);
}

// Side-by-side packing (attention's fused q|k|v): each part's outputs start on a panel, and the
// product equals the parts' own products; mismatched parts are errors.
TEST(Linear, WeightsPackedSideBySideGiveEachPartsOutputsAtItsPanel) {
  const Tensor<float> a = test::pseudo_random({5, 24}, 1, 1.0f), b = test::pseudo_random({20, 24}, 2, 1.0f),
                      x = test::pseudo_random({3, 24}, 3, 1.0f);
  const Tensor<float> both = ops::pack_weights_side_by_side({a.view(), b.view()}, false);
  const std::int64_t b_at = ops::packed_width(5);
  ASSERT_EQ(b_at, 16);
  Tensor<float> y({3, b_at + ops::packed_width(20)}), ya({3, 5}), yb({3, 20}), yb_part({3, 20});
  ops::linear(x, ops::packed_view(both, y.dim(1)), {}, y);
  ops::linear(x, a, {}, ya);
  ops::linear(x, b, {}, yb);
  ops::linear(x, ops::packed_part(both, b_at, 20), {}, yb_part);
  for (std::int64_t i = 0; i < 3; ++i) {
    for (std::int64_t j = 0; j < 5; ++j) EXPECT_NEAR(y(i, j), ya(i, j), 1e-5f);
    for (std::int64_t j = 5; j < b_at; ++j) EXPECT_EQ(y(i, j), 0.0f);  // the gap: zero weights
    for (std::int64_t j = 0; j < 20; ++j) {
      EXPECT_NEAR(y(i, b_at + j), yb(i, j), 1e-5f);
      EXPECT_EQ(y(i, b_at + j), yb_part(i, j));
    }
  }
  const Tensor<float> narrow = test::pseudo_random({4, 23}, 4, 1.0f);
  test::expect_error_mentions([&] { ops::pack_weights_side_by_side({a.view(), narrow.view()}, false); },
                              {"[4, 23]", "24 inputs"});
  test::expect_error_mentions([&] { ops::packed_part(both, 5, 20); }, {"column 5"});
}

}  // namespace
}  // namespace qkv
