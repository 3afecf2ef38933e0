// Properties of the hand-designed model of examples/attention_walkthrough, checked on its
// attention probabilities rather than on the program's printout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../../examples/attention_walkthrough.hpp"

namespace qkv {
namespace {

struct ForwardPass {
  examples::Walkthrough walkthrough;
  Seq2SeqOutput out;
};

// The example's forward pass: one sentence, no padding, attentions requested.
ForwardPass run_walkthrough() {
  ForwardPass r{examples::build_walkthrough_model(), {}};
  const auto& w = r.walkthrough;
  const auto source = w.ids(w.source), target = w.ids(w.target);
  const Tensor<std::int64_t> source_mask(source.shape(), 1), target_mask(target.shape(), 1);
  r.out = w.model.forward(source, source_mask, target, target_mask, qkv::ForwardOptions::with_attentions());
  return r;
}

// Calls f(what, layer, head, probs [queries, keys]) for every head of every layer of every kind.
template <class F>
void for_each_head(const Seq2SeqOutput& out, const F& f) {
  const std::vector<std::pair<const char*, const std::vector<Tensor<float>>*>> kinds{
      {"encoder self-attention", &out.encoder_attentions},
      {"decoder self-attention", &out.decoder_attentions},
      {"cross-attention", &out.cross_attentions}};
  for (const auto& [what, layers] : kinds)
    for (std::size_t l = 0; l < layers->size(); ++l)
      for (std::int64_t h = 0; h < (*layers)[l].dim(1); ++h) f(what, l, h, (*layers)[l].view().select(0).select(h));
}

TEST(AttentionWalkthrough, ReturnsEveryLayersAttentionWithTheSentenceShapes) {
  const ForwardPass r = run_walkthrough();
  const std::int64_t layers = examples::walkthrough::kLayers, heads = examples::walkthrough::kHeads;
  const std::int64_t ls = std::int64_t(r.walkthrough.source.size()), lt = std::int64_t(r.walkthrough.target.size());
  ASSERT_EQ(std::int64_t(r.out.encoder_attentions.size()), layers);
  ASSERT_EQ(std::int64_t(r.out.decoder_attentions.size()), layers);
  ASSERT_EQ(std::int64_t(r.out.cross_attentions.size()), layers);
  for (std::int64_t l = 0; l < layers; ++l) {
    EXPECT_EQ(r.out.encoder_attentions[std::size_t(l)].shape(), Shape({1, heads, ls, ls}));
    EXPECT_EQ(r.out.decoder_attentions[std::size_t(l)].shape(), Shape({1, heads, lt, lt}));
    EXPECT_EQ(r.out.cross_attentions[std::size_t(l)].shape(), Shape({1, heads, lt, ls}));
  }
}

TEST(AttentionWalkthrough, EveryProbabilityRowSumsToOne) {
  const ForwardPass r = run_walkthrough();
  for_each_head(r.out, [](const char* what, std::size_t l, std::int64_t h, TensorView<const float> p) {
    for (std::int64_t i = 0; i < p.dim(0); ++i) {
      double sum = 0.0;
      for (std::int64_t j = 0; j < p.dim(1); ++j) {
        EXPECT_GE(p(i, j), 0.0f) << what << " layer " << l << " head " << h << " [" << i << ", " << j << "]";
        sum += p(i, j);
      }
      EXPECT_NEAR(sum, 1.0, 1e-5) << what << " layer " << l << " head " << h << " row " << i;
    }
  });
}

TEST(AttentionWalkthrough, DecoderSelfAttentionIsZeroAboveTheDiagonal) {
  const ForwardPass r = run_walkthrough();
  for (std::size_t l = 0; l < r.out.decoder_attentions.size(); ++l)
    for (std::int64_t h = 0; h < r.out.decoder_attentions[l].dim(1); ++h) {
      const auto p = r.out.decoder_attentions[l].view().select(0).select(h);
      for (std::int64_t i = 0; i < p.dim(0); ++i)
        for (std::int64_t j = i + 1; j < p.dim(1); ++j)
          EXPECT_EQ(p(i, j), 0.0f) << "layer " << l << " head " << h << ": query " << i << " sees future key " << j;
    }
}

// The point of the design: la, bola, es, azul attend most to the, ball, is, blue.
TEST(AttentionWalkthrough, EachSpanishWordAttendsMostToItsEnglishCounterpart) {
  const ForwardPass r = run_walkthrough();
  const auto& w = r.walkthrough;
  const auto cross = r.out.cross_attentions.back().view().select(0);  // [heads, target, source]
  const std::vector<std::pair<std::string, std::string>> translations{
      {"la", "the"}, {"bola", "ball"}, {"es", "is"}, {"azul", "blue"}};
  for (const auto& [spanish, english] : translations) {
    const auto t = std::find(w.target.begin(), w.target.end(), spanish) - w.target.begin();
    const auto expected = std::find(w.source.begin(), w.source.end(), english) - w.source.begin();
    ASSERT_LT(t, cross.dim(1)) << spanish;
    ASSERT_LT(expected, cross.dim(2)) << english;
    std::vector<float> mean(std::size_t(cross.dim(2)), 0.0f);
    for (std::int64_t h = 0; h < cross.dim(0); ++h)
      for (std::int64_t s = 0; s < cross.dim(2); ++s) mean[std::size_t(s)] += cross(h, t, s) / float(cross.dim(0));
    const auto best = std::max_element(mean.begin(), mean.end()) - mean.begin();
    EXPECT_EQ(w.source[std::size_t(best)], english) << spanish << " attends most to " << w.source[std::size_t(best)]
                                                    << " (" << mean[std::size_t(best)] << "), not " << english;
  }
}

TEST(AttentionWalkthrough, BuildingTwiceGivesIdenticalAttention) {
  const ForwardPass a = run_walkthrough(), b = run_walkthrough();
  for (std::size_t l = 0; l < a.out.cross_attentions.size(); ++l) {
    const auto& x = a.out.cross_attentions[l];
    const auto& y = b.out.cross_attentions[l];
    ASSERT_EQ(x.shape(), y.shape());
    for (std::int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(x.data()[i], y.data()[i]) << "layer " << l << " element " << i;
  }
}

}  // namespace
}  // namespace qkv
