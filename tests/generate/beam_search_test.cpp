// Beam search against transformers' generate(num_beams=4, length_penalty=1, early_stopping=False,
// max_new_tokens=10) for the encoder-decoder cases; decoder-only beam search (no references) on its
// invariants: one beam is greedy, a returned score is the recomputed sum of log-probs of the
// returned ids over their length, and an input's result does not depend on its batch.
#include <cmath>

#include "qkv/generate/beam_search.hpp"
#include "qkv/models/hf/load.hpp"
#include "support/hf_case.hpp"

namespace qkv {
namespace {

struct BeamCase : test::HfCase {
  Model model;
  explicit BeamCase(const std::string& n) : HfCase(n), model(load(dir)) {}
  GenerationConfig eos_alt() const {
    GenerationConfig c = config;
    c.eos_token_ids = {expected.to_int64("batch.eos_alt.eos_token_id")(0)};
    return c;
  }
};

BeamSearchOptions beams(std::int64_t n) {
  BeamSearchOptions o;
  o.num_beams = n;
  o.max_new_tokens = 10;
  return o;
}

class Seq2SeqBeams : public ::testing::TestWithParam<const char*> {};

// Runs 4-beam search on `group` and compares with `<prefix>.sequences` / `.sequences_scores`.
void expect_beam4_matches(const BeamCase& c, const std::string& group, const std::string& prefix, const GenerationConfig& config) {
  const auto& model = std::get<EncoderDecoderModel>(c.model);
  const auto ids = c.inputs.to_int64(group + ".input_ids"), mask = c.inputs.to_int64(group + ".attention_mask");
  const BeamSearchOutput out = beam_search(model, ids, mask, config, beams(4));
  test::expect_ids_equal(out.sequences, c.expected.to_int64(prefix + ".sequences"), c.name + " " + prefix + ".sequences");
  test::expect_close(out.sequences_scores, c.expected.to_float(prefix + ".sequences_scores"), test::float32_reference_rtol(c.rtol),
                     c.name + " " + prefix + ".sequences_scores");
}

TEST_P(Seq2SeqBeams, FourBeamsMatchTransformers) {
  const BeamCase c(GetParam());
  expect_beam4_matches(c, "single", "single.beam4", c.config);
  expect_beam4_matches(c, "batch", "batch.beam4", c.config);
}

TEST_P(Seq2SeqBeams, FinishedHypothesesAndEarlyStopMatchTransformers) {
  const BeamCase c(GetParam());
  expect_beam4_matches(c, "batch", "batch.eos_alt.beam4", c.eos_alt());
}

TEST_P(Seq2SeqBeams, OneBeamIsGreedy) {
  const BeamCase c(GetParam());
  const auto& model = std::get<EncoderDecoderModel>(c.model);
  for (const std::string group : {"single", "batch"}) {
    const auto ids = c.inputs.to_int64(group + ".input_ids"), mask = c.inputs.to_int64(group + ".attention_mask");
    test::expect_ids_equal(beam_search(model, ids, mask, c.config, beams(1)).sequences,
                     c.expected.to_int64(group + ".greedy.sequences"), c.name + " " + group);
  }
  // With early_stopping False, one beam stops at an EOS exactly as greedy does.
  const auto ids = c.inputs.to_int64("batch.input_ids"), mask = c.inputs.to_int64("batch.attention_mask");
  test::expect_ids_equal(beam_search(model, ids, mask, c.eos_alt(), beams(1)).sequences,
                   c.expected.to_int64("batch.eos_alt.greedy.sequences"), c.name + " eos_alt");
}

INSTANTIATE_TEST_SUITE_P(Hf, Seq2SeqBeams, ::testing::Values("t5_a", "bart_a", "marian_a"));

TEST(Seq2SeqBeams, ReorderedStateStepsLikeTheRowsItWasBuiltFrom) {
  // select_rows must carry each row's caches: stepping the re-picked state equals stepping the
  // original state and picking the logits rows.
  const BeamCase c("bart_a");
  const auto& model = std::get<EncoderDecoderModel>(c.model);
  const auto ids = c.inputs.to_int64("batch.input_ids"), mask = c.inputs.to_int64("batch.attention_mask");
  const auto dec = c.inputs.to_int64("batch.decoder_input_ids");
  Seq2SeqState state = model.start(ids, mask, 8);
  model.step(state, dec.view().narrow(1, 0, 2));
  Seq2SeqState picked = model.start(ids, mask, 8);
  model.step(picked, dec.view().narrow(1, 0, 2));
  const std::vector<std::int64_t> rows{1, 0, 1};
  picked.select_rows(rows);
  Tensor<std::int64_t> next({3, 1});
  for (std::int64_t i = 0; i < 3; ++i) next(i, 0) = dec(rows[std::size_t(i)], 2);
  const Tensor<float> got = model.step(picked, next);
  const Tensor<float> want = model.step(state, dec.view().narrow(1, 2, 1));
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t v = 0; v < got.dim(1); ++v) ASSERT_EQ(got(i, v), want(rows[std::size_t(i)], v)) << "row " << i;
}

TEST(Seq2SeqBeams, RefusesBadOptions) {
  const BeamCase c("marian_a");
  const auto& model = std::get<EncoderDecoderModel>(c.model);
  const auto ids = c.inputs.to_int64("single.input_ids");
  EXPECT_THROW(beam_search(model, ids, {}, c.config, beams(0)), Error);
  BeamSearchOptions none = beams(4);
  none.max_new_tokens = 0;
  EXPECT_THROW(beam_search(model, ids, {}, c.config, none), Error);
}

// --- decoder-only (gpt2_a): no reference, so invariants ---------------------------------------

// HF's summed log-probs of `generated` after the left-padded prompt row, from one full forward pass,
// divided by length^penalty.
double recomputed_score(const DecoderModel& model, const Tensor<std::int64_t>& prompt, const Tensor<std::int64_t>& mask,
                        std::int64_t row, const std::vector<std::int64_t>& generated, double length_penalty) {
  const std::int64_t p = prompt.dim(1), n = std::int64_t(generated.size()), length = p + n;
  Tensor<std::int64_t> ids({1, length}), full_mask({1, length}), positions({1, length});
  for (std::int64_t t = 0, seen = 0; t < length; ++t) {
    ids(0, t) = t < p ? prompt(row, t) : generated[std::size_t(t - p)];
    full_mask(0, t) = t < p ? mask(row, t) : 1;
    seen += full_mask(0, t);
    positions(0, t) = full_mask(0, t) ? seen - 1 : 1;
  }
  ForwardOptions options;
  options.position_ids = positions.view();
  const Tensor<float> logits = model.forward(ids, full_mask, options).logits;  // [1, length, V]
  const std::int64_t vocab = logits.dim(2);
  double sum = 0.0;
  for (std::int64_t t = p; t < length; ++t) {
    const float* l = logits.data() + (t - 1) * vocab;
    double max = l[0], total = 0.0;
    for (std::int64_t v = 0; v < vocab; ++v) max = std::max(max, double(l[v]));
    for (std::int64_t v = 0; v < vocab; ++v) total += std::exp(double(l[v]) - max);
    sum += double(l[ids(0, t)]) - max - std::log(total);
  }
  return sum / std::pow(double(n), length_penalty);
}

struct Prompts {
  std::string tag;
  Tensor<std::int64_t> ids, mask;
};

std::vector<Prompts> gpt2_prompts(const BeamCase& c) {
  std::vector<Prompts> p;
  p.push_back({"single", c.inputs.to_int64("single.input_ids"), c.inputs.to_int64("single.attention_mask")});
  p.push_back({"genbatch", c.inputs.to_int64("genbatch.input_ids"), c.inputs.to_int64("genbatch.attention_mask")});
  return p;
}

TEST(DecoderBeams, OneBeamIsGreedy) {
  const BeamCase c("gpt2_a");
  const auto& model = std::get<DecoderModel>(c.model);
  const auto prompts = gpt2_prompts(c);
  test::expect_ids_equal(beam_search(model, prompts[0].ids, prompts[0].mask, c.config, beams(1)).sequences,
                   c.expected.to_int64("single.greedy.sequences"), "gpt2_a single");
  test::expect_ids_equal(beam_search(model, prompts[1].ids, prompts[1].mask, c.config, beams(1)).sequences,
                   c.expected.to_int64("batch.greedy.sequences"), "gpt2_a genbatch");
  test::expect_ids_equal(beam_search(model, prompts[1].ids, prompts[1].mask, c.eos_alt(), beams(1)).sequences,
                   c.expected.to_int64("batch.eos_alt.greedy.sequences"), "gpt2_a genbatch eos_alt");
}

TEST(DecoderBeams, ScoresAreTheSummedLogProbsOfTheReturnedIdsOverTheirLength) {
  const BeamCase c("gpt2_a");
  const auto& model = std::get<DecoderModel>(c.model);
  std::int64_t finished = 0;
  for (const auto& prompts : gpt2_prompts(c))
    for (const GenerationConfig& config : {c.config, c.eos_alt()})
      for (const double penalty : {1.0, 0.0, 2.0}) {
        BeamSearchOptions options = beams(4);
        options.length_penalty = penalty;
        const BeamSearchOutput out = beam_search(model, prompts.ids, prompts.mask, config, options);
        const std::int64_t p = prompts.ids.dim(1);
        ASSERT_EQ(out.sequences.dim(0), prompts.ids.dim(0));
        for (std::int64_t b = 0; b < out.sequences.dim(0); ++b) {
          for (std::int64_t t = 0; t < p; ++t) EXPECT_EQ(out.sequences(b, t), prompts.ids(b, t)) << "the prompt is kept";
          const auto generated = generated_ids(out.sequences, b, p, config);
          const bool ended = config.is_eos(generated.back());
          finished += ended;
          EXPECT_TRUE(ended || std::int64_t(generated.size()) == options.max_new_tokens);
          for (std::int64_t t = p + std::int64_t(generated.size()); t < out.sequences.dim(1); ++t)
            EXPECT_EQ(out.sequences(b, t), config.pad_token_id) << "padded after the EOS";
          const double want = recomputed_score(model, prompts.ids, prompts.mask, b, generated, penalty);
          const std::string what = prompts.tag + " row " + std::to_string(b) + " penalty " + std::to_string(penalty);
          EXPECT_NEAR(out.sequences_scores(b), want, 1e-5 * (1 + std::fabs(want))) << what;
        }
      }
  EXPECT_GT(finished, 0) << "the eos_alt runs should finish some hypotheses";
}

TEST(DecoderBeams, AnInputsResultDoesNotDependOnItsBatch) {
  const BeamCase c("gpt2_a");
  const auto& model = std::get<DecoderModel>(c.model);
  const auto ids = c.inputs.to_int64("genbatch.input_ids"), mask = c.inputs.to_int64("genbatch.attention_mask");
  for (const GenerationConfig& config : {c.config, c.eos_alt()}) {
    const BeamSearchOutput batch = beam_search(model, ids, mask, config, beams(3));
    for (std::int64_t b = 0; b < ids.dim(0); ++b) {
      std::int64_t pads = 0;
      while (mask(b, pads) == 0) ++pads;
      const std::int64_t n = ids.dim(1) - pads;
      const Tensor<std::int64_t> alone_ids = Tensor<std::int64_t>::copy_of(ids.view().select(b).narrow(0, pads, n).reshape({1, n}));
      const BeamSearchOutput alone = beam_search(model, alone_ids, {}, config, beams(3));
      EXPECT_EQ(generated_ids(batch.sequences, b, ids.dim(1), config), generated_ids(alone.sequences, 0, n, config)) << "row " << b;
      EXPECT_NEAR(batch.sequences_scores(b), alone.sequences_scores(0), 1e-5) << "row " << b;
    }
  }
}

TEST(DecoderBeams, RefusesRightPaddedPrompts) {
  const BeamCase c("gpt2_a");
  const auto& model = std::get<DecoderModel>(c.model);
  const auto ids = c.inputs.to_int64("batch.input_ids"), mask = c.inputs.to_int64("batch.attention_mask");
  EXPECT_THROW(beam_search(model, ids, mask, c.config, beams(2)), Error);
}

}  // namespace
}  // namespace qkv
