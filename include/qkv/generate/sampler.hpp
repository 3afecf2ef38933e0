#pragma once
// Choosing the next token from logits, with Hugging Face's logits processors and warpers, in
// HF's order: repetition penalty, then temperature, top-k, top-p, min-p, then a seeded
// multinomial draw (or argmax when greedy).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "qkv/core/error.hpp"

namespace qkv {

struct SamplingOptions {
  bool greedy = false;              // argmax; the warpers below are then irrelevant
  float temperature = 1.0f;         // > 0
  std::int64_t top_k = 0;           // 0 = off
  float top_p = 1.0f;               // in (0, 1]; 1 = off
  float min_p = 0.0f;               // in [0, 1]; 0 = off
  float repetition_penalty = 1.0f;  // > 0; 1 = off (HF RepetitionPenaltyLogitsProcessor)
  std::uint64_t seed = 0;

  void validate() const {
    if (!(temperature > 0.0f)) fail("temperature must be > 0, got ", temperature);
    if (top_k < 0) fail("top_k must be >= 0, got ", top_k);
    if (!(top_p > 0.0f && top_p <= 1.0f)) fail("top_p must be in (0, 1], got ", top_p);
    if (!(min_p >= 0.0f && min_p <= 1.0f)) fail("min_p must be in [0, 1], got ", min_p);
    if (!(repetition_penalty > 0.0f)) fail("repetition_penalty must be > 0, got ", repetition_penalty);
  }
};

// HF RepetitionPenaltyLogitsProcessor: every id already in the sequence has its score divided
// by the penalty if positive, multiplied if negative (each id once).
inline void apply_repetition_penalty(std::vector<float>& scores, const std::vector<std::int64_t>& previous, float penalty) {
  if (penalty == 1.0f) return;
  std::vector<bool> seen(scores.size(), false);
  for (std::int64_t id : previous) {
    if (id < 0 || std::size_t(id) >= scores.size() || seen[std::size_t(id)]) continue;
    seen[std::size_t(id)] = true;
    float& s = scores[std::size_t(id)];
    s = s < 0.0f ? s * penalty : s / penalty;
  }
}

// The warpers, in place on scores (logits); removed tokens become -inf.
inline void apply_warpers(std::vector<float>& scores, const SamplingOptions& o) {
  constexpr float kRemoved = -std::numeric_limits<float>::infinity();
  const std::size_t n = scores.size();
  if (o.temperature != 1.0f)
    for (float& s : scores) s /= o.temperature;
  if (o.top_k > 0 && std::size_t(o.top_k) < n) {  // HF TopKLogitsWarper: keep scores >= the k-th largest
    std::vector<float> sorted = scores;
    std::nth_element(sorted.begin(), sorted.begin() + (o.top_k - 1), sorted.end(), std::greater<float>());
    const float kth = sorted[std::size_t(o.top_k - 1)];
    for (float& s : scores)
      if (s < kth) s = kRemoved;
  }
  if (o.top_p < 1.0f) {  // HF TopPLogitsWarper: drop the low tail whose mass is <= 1 - top_p, keep >= 1
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
    const float max = scores[order.back()];
    double total = 0.0;
    for (float s : scores) total += std::exp(double(s) - max);
    double cumulative = 0.0;
    for (std::size_t i = 0; i + 1 < n; ++i) {  // ascending; the most likely token is never removed
      cumulative += std::exp(double(scores[order[i]]) - max) / total;
      if (cumulative > 1.0 - double(o.top_p)) break;
      scores[order[i]] = kRemoved;
    }
  }
  if (o.min_p > 0.0f) {  // HF MinPLogitsWarper: drop tokens with p < min_p * p_max
    const float max = *std::max_element(scores.begin(), scores.end());
    const double threshold = std::log(double(o.min_p));  // p/p_max < min_p  <=>  s - max < log(min_p)
    for (float& s : scores)
      if (double(s) - max < threshold) s = kRemoved;
  }
}

class Sampler {
 public:
  explicit Sampler(SamplingOptions options) : options_(options), rng_(options.seed) { options_.validate(); }

  // The next token id for one sequence; previous = the ids so far (for the repetition penalty).
  std::int64_t next(const float* logits, std::int64_t vocab, const std::vector<std::int64_t>& previous) {
    std::vector<float> scores(logits, logits + vocab);
    apply_repetition_penalty(scores, previous, options_.repetition_penalty);
    if (options_.greedy) return argmax(scores);
    apply_warpers(scores, options_);
    return draw(scores);
  }

  static std::int64_t argmax(const std::vector<float>& scores) {  // first maximum, as torch.argmax
    return std::int64_t(std::max_element(scores.begin(), scores.end()) - scores.begin());
  }

 private:
  // Multinomial draw from softmax(scores). The uniform number is made from the raw 64-bit output
  // (53 bits -> [0, 1)) so a seed gives the same tokens with every standard library.
  std::int64_t draw(const std::vector<float>& scores) {
    const float max = *std::max_element(scores.begin(), scores.end());
    double total = 0.0;
    for (float s : scores) total += std::exp(double(s) - max);
    const double u = double(rng_() >> 11) * 0x1.0p-53 * total;
    double cumulative = 0.0;
    std::int64_t last_allowed = 0;
    for (std::size_t i = 0; i < scores.size(); ++i) {
      const double p = std::exp(double(scores[i]) - max);
      if (p == 0.0) continue;
      last_allowed = std::int64_t(i);
      cumulative += p;
      if (u < cumulative) return std::int64_t(i);
    }
    return last_allowed;  // rounding left u at the very top
  }

  SamplingOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace qkv
