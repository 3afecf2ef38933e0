#include "qkv/generate/sampler.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace qkv {
namespace {

// log-probabilities of a known distribution over 6 tokens: p = [.4, .25, .15, .1, .06, .04]
std::vector<float> known_logits() {
  std::vector<float> l;
  for (double p : {0.4, 0.25, 0.15, 0.1, 0.06, 0.04}) l.push_back(float(std::log(p)));
  return l;
}

std::map<std::int64_t, int> draw_many(SamplingOptions o, int draws) {
  Sampler s(o);
  const auto logits = known_logits();
  std::map<std::int64_t, int> counts;
  for (int i = 0; i < draws; ++i) ++counts[s.next(logits.data(), 6, {})];
  return counts;
}

TEST(Sampler, GreedyIsArgmaxWithFirstTieWinning) {
  Sampler s(SamplingOptions{true});
  const std::vector<float> logits{1.0f, 3.0f, 3.0f, -2.0f};
  EXPECT_EQ(s.next(logits.data(), 4, {}), 1);
}

TEST(Sampler, MultinomialFrequenciesMatchTheDistribution) {
  const int draws = 200000;
  const auto counts = draw_many(SamplingOptions{}, draws);
  const double p[] = {0.4, 0.25, 0.15, 0.1, 0.06, 0.04};
  for (int i = 0; i < 6; ++i) {
    const double expected = p[i] * draws, sigma = std::sqrt(draws * p[i] * (1 - p[i]));
    EXPECT_NEAR(counts.count(i) ? counts.at(i) : 0, expected, 5 * sigma) << "token " << i;
  }
}

TEST(Sampler, SameSeedSameTokensOtherSeedOtherTokens) {
  SamplingOptions a;
  a.seed = 7;
  SamplingOptions b = a;
  b.seed = 8;
  Sampler s1(a), s2(a), s3(b);
  const auto logits = known_logits();
  int differ = 0;
  for (int i = 0; i < 200; ++i) {
    const auto t1 = s1.next(logits.data(), 6, {});
    EXPECT_EQ(t1, s2.next(logits.data(), 6, {}));
    differ += t1 != s3.next(logits.data(), 6, {});
  }
  EXPECT_GT(differ, 20);
}

TEST(Sampler, TopKNeverLeavesTheKBest) {
  SamplingOptions o;
  o.top_k = 2;
  const auto counts = draw_many(o, 20000);
  for (const auto& [id, n] : counts) EXPECT_LT(id, 2) << n;
  // Renormalised: 0.4 / 0.65 of the draws go to token 0.
  EXPECT_NEAR(counts.at(0) / 20000.0, 0.4 / 0.65, 0.02);
}

TEST(Sampler, TopPKeepsTheSmallestNucleusReachingP) {
  // Ascending cumulative mass .04, .10, .20, .35: tokens are removed while it is <= 1 - 0.7 = 0.3,
  // so tokens 5, 4, 3 go and 0, 1, 2 (mass 0.8 >= 0.7) stay.
  SamplingOptions o;
  o.top_p = 0.7f;
  const auto counts = draw_many(o, 20000);
  for (const auto& [id, n] : counts) EXPECT_LT(id, 3) << n;
  EXPECT_EQ(counts.size(), 3u);
}

TEST(Sampler, MinPDropsTokensBelowAFractionOfTheBest) {
  SamplingOptions o;
  o.min_p = 0.3f;  // keep p >= 0.12: tokens 0, 1, 2
  const auto counts = draw_many(o, 20000);
  EXPECT_EQ(counts.size(), 3u);
  for (const auto& [id, n] : counts) EXPECT_LT(id, 3) << n;
}

TEST(Sampler, LowTemperatureSharpens) {
  SamplingOptions o;
  o.temperature = 0.05f;
  const auto counts = draw_many(o, 2000);
  EXPECT_GT(counts.at(0), 1990);
}

TEST(Sampler, RepetitionPenaltyByHand) {
  std::vector<float> scores{2.0f, -2.0f, 1.0f};
  apply_repetition_penalty(scores, {0, 1, 1}, 2.0f);  // each id penalised once
  EXPECT_EQ(scores[0], 1.0f);
  EXPECT_EQ(scores[1], -4.0f);
  EXPECT_EQ(scores[2], 1.0f);
  // Greedy with penalty 3 on token 0: 2 / 3 < 1, so token 2 wins.
  SamplingOptions o;
  o.greedy = true;
  o.repetition_penalty = 3.0f;
  Sampler s(o);
  const std::vector<float> logits{2.0f, -2.0f, 1.0f};
  EXPECT_EQ(s.next(logits.data(), 3, {0}), 2);
}

TEST(Sampler, InvalidOptionsAreErrors) {
  SamplingOptions o;
  o.temperature = 0.0f;
  EXPECT_THROW(Sampler{o}, Error);
  o = {};
  o.top_p = 1.5f;
  EXPECT_THROW(Sampler{o}, Error);
  o = {};
  o.top_k = -1;
  EXPECT_THROW(Sampler{o}, Error);
  o = {};
  o.min_p = -0.1f;
  EXPECT_THROW(Sampler{o}, Error);
}

}  // namespace
}  // namespace qkv
