#include "qkv/nn/relative_position_bias.hpp"

#include <string>

#include "support/reference.hpp"

namespace qkv {
namespace {

using nn::relative_position_bucket;

// fixtures/nn_relative_position_bias.safetensors (tests/tools/make_t5_bucket_fixtures.py): HF's
// bucket function run by torch for relative positions -1100..1100 under several settings.
TEST(RelativePositionBucket, MatchesHfForEverySettingOfTheFixture) {
  const auto file = test::open_data("fixtures/nn_relative_position_bias.safetensors");
  const Tensor<std::int64_t> rel = file.to_int64("relative_positions");
  int settings = 0;
  for (const std::string& name : file.names()) {
    const bool bidirectional = name.rfind("bidirectional.", 0) == 0;
    if (!bidirectional && name.rfind("causal.", 0) != 0) continue;
    std::int64_t nb = 0, md = 0;  // names are <direction>.nb<num_buckets>_md<max_distance>
    ASSERT_EQ(std::sscanf(name.c_str() + name.find(".nb"), ".nb%ld_md%ld", &nb, &md), 2) << name;
    const Tensor<std::int64_t> expected = file.to_int64(name);
    ++settings;
    int wrong = 0;
    for (std::int64_t i = 0; i < rel.numel(); ++i) {
      const std::int64_t got = relative_position_bucket(rel(i), bidirectional, nb, md);
      if (got != expected(i) && ++wrong <= 3)
        ADD_FAILURE() << name << ": relative position " << rel(i) << " -> bucket " << got << ", HF " << expected(i);
    }
    EXPECT_EQ(wrong, 0) << name;
  }
  EXPECT_EQ(settings, 25);
}

TEST(RelativePositionBucket, HandComputedT5Defaults) {
  // 32 buckets, max_distance 128. Bidirectional: 16 per direction, 8 exact, then
  // 8 + floor(log(n/8) / log(128/8) * 8); keys to the right (n > 0) add 16.
  EXPECT_EQ(relative_position_bucket(0, true, 32, 128), 0);
  EXPECT_EQ(relative_position_bucket(-1, true, 32, 128), 1);
  EXPECT_EQ(relative_position_bucket(1, true, 32, 128), 17);
  EXPECT_EQ(relative_position_bucket(-7, true, 32, 128), 7);
  EXPECT_EQ(relative_position_bucket(-8, true, 32, 128), 8);     // log(1) = 0
  EXPECT_EQ(relative_position_bucket(-16, true, 32, 128), 10);   // log 2 / log 16 * 8 = 2
  EXPECT_EQ(relative_position_bucket(-127, true, 32, 128), 15);  // 7.98 -> 15
  EXPECT_EQ(relative_position_bucket(-128, true, 32, 128), 15);  // 16 clamped to the last bucket
  EXPECT_EQ(relative_position_bucket(200, true, 32, 128), 31);
  // Causal: 32 buckets for n = -min(rel, 0), 16 exact, then 16 + floor(log(n/16) / log 8 * 16).
  EXPECT_EQ(relative_position_bucket(5, false, 32, 128), 0);  // future keys share bucket 0
  EXPECT_EQ(relative_position_bucket(-15, false, 32, 128), 15);
  EXPECT_EQ(relative_position_bucket(-16, false, 32, 128), 16);
  EXPECT_EQ(relative_position_bucket(-32, false, 32, 128), 21);  // 16 + floor(16/3)
  EXPECT_EQ(relative_position_bucket(-1000, false, 32, 128), 31);
}

TEST(RelativePositionBias, ComputeMatchesHfComputeBias) {
  const auto file = test::open_data("fixtures/nn_relative_position_bias.safetensors");
  const Tensor<float> table = file.to_float("bias.table");  // [8 buckets, 4 heads]
  const nn::RelativePositionBias encoder{table.view(), true, 20};
  test::expect_close(encoder.compute(7, 9), file.to_float("bias.encoder_7x9"), 0.0, "encoder bias [4, 7, 9]");
  // Decoder queries at positions 8..10 over keys 0..10: what a KV cache of 8 positions needs.
  const nn::RelativePositionBias decoder{table.view(), false, 20};
  test::expect_close(decoder.compute(3, 11, 8), file.to_float("bias.decoder_start8_3x11"), 0.0,
                     "decoder bias, queries from 8 [4, 3, 11]");
  // The rows of a longer run are the same as those computed from a start.
  const Tensor<float> full = decoder.compute(11, 11);
  const Tensor<float> tail = decoder.compute(3, 11, 8);
  for (std::int64_t h = 0; h < 4; ++h)
    for (std::int64_t i = 0; i < 3; ++i)
      for (std::int64_t j = 0; j < 11; ++j) EXPECT_EQ(tail(h, i, j), full(h, 8 + i, j));
}

TEST(RelativePositionBias, SettingsHfCannotComputeAreErrors) {
  Tensor<float> two({2, 1}, 0.0f), eight({8, 1}, 0.0f);
  auto message = [](const nn::RelativePositionBias& b) {
    try {
      b.compute(2, 2);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // Bidirectional with 2 buckets: no exact bucket per direction (HF divides by zero).
  EXPECT_NE(message({two.view(), true, 128}).find("num_buckets 2 is too few"), std::string::npos);
  EXPECT_EQ(message({two.view(), false, 128}), "no error");
  // max_distance within the exact buckets: HF divides by log(max_distance / max_exact) <= 0.
  EXPECT_NE(message({eight.view(), true, 2}).find("max_distance 2"), std::string::npos);
  EXPECT_NE(message(nn::RelativePositionBias{}).find("no table"), std::string::npos);
}

}  // namespace
}  // namespace qkv
