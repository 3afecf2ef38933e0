#include "qkv/nn/rotary.hpp"

#include <functional>
#include <map>

#include "support/reference.hpp"

namespace qkv {
namespace {

using nn::RopeScaling;
using nn::RopeType;

// The cases of fixtures/rope_scaling.safetensors (tests/tools/make_rope_fixtures.py re-implements
// transformers' _compute_*_parameters in torch float32), built here from the same parameters.
struct ScalingCase {
  std::int64_t dim;
  double theta;
  std::int64_t max_positions;
  RopeScaling scaling;
  std::int64_t seq_len = 1;  // max(position_ids) + 1, for dynamic
};

RopeScaling scaled(RopeType type, double factor, const std::function<void(RopeScaling&)>& more = {}) {
  RopeScaling s;
  s.type = type, s.factor = factor;
  if (more) more(s);
  return s;
}

const std::map<std::string, ScalingCase>& cases() {
  static const std::map<std::string, ScalingCase> table = {
      {"default_d8_t1e4", {8, 1e4, 128, {}}},
      {"default_d8_t5e5", {8, 5e5, 128, {}}},
      {"default_d128_t5e5", {128, 5e5, 8192, {}}},
      {"linear_f4_d64", {64, 1e4, 4096, scaled(RopeType::linear, 4.0)}},
      {"linear_f2.5_d128", {128, 1e4, 4096, scaled(RopeType::linear, 2.5)}},
      {"dynamic_f2_d64_len100", {64, 1e4, 128, scaled(RopeType::dynamic, 2.0), 100}},
      {"dynamic_f2_d64_len128", {64, 1e4, 128, scaled(RopeType::dynamic, 2.0), 128}},
      {"dynamic_f2_d64_len129", {64, 1e4, 128, scaled(RopeType::dynamic, 2.0), 129}},
      {"dynamic_f3.5_d128_len5000", {128, 1e4, 2048, scaled(RopeType::dynamic, 3.5), 5000}},
      {"llama3_d128", {128, 5e5, 131072, scaled(RopeType::llama3, 8.0, [](RopeScaling& s) {
                         s.low_freq_factor = 1.0, s.high_freq_factor = 4.0, s.original_max_positions = 8192;
                       })}},
      {"llama3_d64_small", {64, 1e4, 1024, scaled(RopeType::llama3, 4.0, [](RopeScaling& s) {
                              s.low_freq_factor = 1.0, s.high_freq_factor = 4.0, s.original_max_positions = 256;
                            })}},
      {"yarn_d128_qwen",
       {128, 1e6, 131072, scaled(RopeType::yarn, 4.0, [](RopeScaling& s) { s.original_max_positions = 32768; })}},
      {"yarn_d64_betas", {64, 1e4, 4096, scaled(RopeType::yarn, 8.0, [](RopeScaling& s) { s.beta_fast = 16, s.beta_slow = 2; })}},
      {"yarn_d64_attention_factor", {64, 1e4, 4096, scaled(RopeType::yarn, 2.0, [](RopeScaling& s) {
                                       s.attention_factor = 0.9, s.original_max_positions = 2048;
                                     })}},
      {"yarn_d64_mscale", {64, 1e4, 163840, scaled(RopeType::yarn, 40.0, [](RopeScaling& s) {
                             s.mscale = 1.0, s.mscale_all_dim = 0.707, s.original_max_positions = 4096;
                           })}},
      {"yarn_d64_notruncate", {64, 150000.0, 131072, scaled(RopeType::yarn, 32.0, [](RopeScaling& s) {
                                 s.original_max_positions = 4096, s.truncate = false;
                               })}},
  };
  return table;
}

TEST(RotaryEmbedding, EveryScalingMatchesTransformersFormulas) {
  const auto f = test::open_data("fixtures/rope_scaling.safetensors");
  std::size_t checked = 0;
  for (const auto& [name, meta] : f.metadata()) {
    if (name == "case") continue;
    SCOPED_TRACE(name);
    ASSERT_TRUE(cases().count(name)) << "fixture case " << name << " has no parameters here";
    const ScalingCase& c = cases().at(name);
    const auto rope = nn::RotaryEmbedding::make(c.dim, c.theta, c.max_positions, c.scaling);
    const std::vector<float> inv = rope.frequencies(c.seq_len);
    const TensorView<const float> got(inv.data(), {std::int64_t(inv.size())});
    // The float32 steps follow torch's, so each entry is HF's or an ulp from it (torch's pow is
    // Sleef's, within 1 ulp): a relative bound of 2 ulp, tighter than expect_close's 1 + |ref|.
    const Tensor<float> ref = f.to_float(name + ".inv_freq");
    test::expect_close(got, ref, 1e-7, name + " inv_freq");
    for (std::int64_t i = 0; i < ref.numel(); ++i)
      EXPECT_LE(std::fabs(got(i) - ref(i)), 2.4e-7 * std::fabs(ref(i))) << name << " inv_freq[" << i << "]";
    EXPECT_FLOAT_EQ(rope.attention_factor, f.to_float(name + ".attention_factor")(0)) << name;
    ++checked;
  }
  EXPECT_EQ(checked, cases().size());
}

TEST(RotaryEmbedding, DynamicNtkIsTheDefaultUpToMaxPositionsAndStateless) {
  const auto rope = nn::RotaryEmbedding::make(64, 1e4, 128, scaled(RopeType::dynamic, 2.0));
  const auto plain = nn::RotaryEmbedding::make(64, 1e4, 128);
  EXPECT_EQ(rope.frequencies(128), plain.inv_freq);
  const auto longer = rope.frequencies(1000);
  EXPECT_LT(longer.back(), plain.inv_freq.back());  // a larger base: lower frequencies
  EXPECT_EQ(rope.frequencies(1000), longer);
  EXPECT_EQ(rope.frequencies(10), plain.inv_freq);  // no memory of the long sequence (HF caches it)
}

TEST(RotaryEmbedding, RotatesGroupedQueryHeadsAtExplicitPositions) {
  const auto f = test::open_data("fixtures/ops_rotary.safetensors");
  nn::RotaryEmbedding rope = nn::RotaryEmbedding::make(8, 5e5, 128);
  test::expect_close(TensorView<const float>(rope.inv_freq.data(), {4}), f.to_float("gqa.inv_freq"), 0.0, "gqa inv_freq");
  rope.attention_factor = 1.1f;
  Tensor<float> q = f.to_float("gqa.q"), k = f.to_float("gqa.k");  // [2, 5, 4 x 8], [2, 5, 2 x 8]
  const Tensor<std::int64_t> positions = f.to_int64("gqa.positions");  // row 1 starts at 7
  rope.forward(q, k, 8, positions);
  test::expect_close(q, f.to_float("gqa.q_rot"), 1e-6, "gqa q rotated");
  test::expect_close(k, f.to_float("gqa.k_rot"), 1e-6, "gqa k rotated");
}

TEST(RotaryEmbedding, EmptyPositionsMean0ToLMinus1) {
  const auto f = test::open_data("fixtures/ops_rotary.safetensors");
  const auto rope = nn::RotaryEmbedding::make(8, 5e5, 128);
  Tensor<float> q1 = f.to_float("gqa.q"), k1 = f.to_float("gqa.k"), q2 = f.to_float("gqa.q"), k2 = f.to_float("gqa.k");
  Tensor<std::int64_t> iota({2, 5});
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 5; ++t) iota(b, t) = t;
  rope.forward(q1, k1, 8, iota);
  rope.forward(q2, k2, 8, {});
  test::expect_close(q2, q1, 0.0, "default positions q");
  test::expect_close(k2, k1, 0.0, "default positions k");
}

TEST(RotaryEmbedding, RejectsBadParameters) {
  auto message = [](const std::function<void()>& body) {
    try {
      body();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] { nn::RotaryEmbedding::make(7, 1e4, 128); }).find("even"), std::string::npos);
  EXPECT_NE(message([] { nn::RotaryEmbedding::make(8, 0.0, 128); }).find("rope_theta"), std::string::npos);
  EXPECT_NE(message([] { nn::RotaryEmbedding::make(8, 1e4, 128, scaled(RopeType::linear, 0.0)); }).find("factor"),
            std::string::npos);
  EXPECT_NE(message([] { nn::RotaryEmbedding::make(8, 1e4, 128, scaled(RopeType::llama3, 8.0)); })
                .find("original_max_position_embeddings"),
            std::string::npos);
  const auto rope = nn::RotaryEmbedding::make(8, 1e4, 128);
  Tensor<float> q({1, 3, 16}), k({1, 3, 8});
  Tensor<std::int64_t> wrong({1, 4});
  EXPECT_NE(message([&] { rope.forward(q, k, 8, wrong); }).find("position_ids"), std::string::npos);
  EXPECT_NE(message([&] { rope.forward(q, k, 4, {}); }).find("rotates 8 features"), std::string::npos);
}

}  // namespace
}  // namespace qkv
