// Greedy generation for encoder-decoder models against transformers' generate(num_beams=1,
// max_new_tokens=10): the same ids, and the same per-step logits (HF's output_scores).
#include "qkv/generate/seq2seq.hpp"
#include "qkv/models/hf/load.hpp"
#include "support/hf_case.hpp"

namespace qkv {
namespace {

struct Seq2SeqCase : test::HfCase {
  EncoderDecoderModel model;
  explicit Seq2SeqCase(const std::string& n) : HfCase(n), model(std::get<EncoderDecoderModel>(load(dir))) {}
};
// Runs greedy on the case's `group` inputs and compares with `<prefix>.sequences` / `.scores`.
void expect_greedy_matches(const Seq2SeqCase& c, const std::string& group, const std::string& prefix, const GenerationConfig& config) {
  const auto ids = c.inputs.to_int64(group + ".input_ids"), mask = c.inputs.to_int64(group + ".attention_mask");
  GreedyOptions options;
  options.max_new_tokens = 10;
  options.output_scores = true;
  const GenerationOutput out = generate_greedy(c.model, ids, mask, config, options);
  const std::string tag = c.name + " " + prefix;
  test::expect_ids_equal(out.sequences, c.expected.to_int64(prefix + ".sequences"), tag + ".sequences");
  const Tensor<float> scores = c.expected.to_float(prefix + ".scores");  // [steps, B, V]
  ASSERT_EQ(std::int64_t(out.scores.size()), scores.dim(0)) << tag;
  for (std::int64_t s = 0; s < scores.dim(0); ++s)
    test::expect_close(out.scores[std::size_t(s)], scores.view().select(s), test::float32_reference_rtol(c.rtol), tag + ".scores step " + std::to_string(s));
}

class Greedy : public ::testing::TestWithParam<const char*> {};

TEST_P(Greedy, SingleAndPaddedBatchMatchTransformers) {
  const Seq2SeqCase c(GetParam());
  expect_greedy_matches(c, "single", "single.greedy", c.config);
  expect_greedy_matches(c, "batch", "batch.greedy", c.config);
}

TEST_P(Greedy, RowsStopAtEosAndArePaddedUntilAllAreDone) {
  const Seq2SeqCase c(GetParam());
  GenerationConfig config = c.config;
  config.eos_token_ids = {c.expected.to_int64("batch.eos_alt.eos_token_id")(0)};
  expect_greedy_matches(c, "batch", "batch.eos_alt.greedy", config);
}

TEST_P(Greedy, StreamsEveryNewIdOfUnfinishedRowsAndStopsWhenAsked) {
  const Seq2SeqCase c(GetParam());
  GenerationConfig config = c.config;
  config.eos_token_ids = {c.expected.to_int64("batch.eos_alt.eos_token_id")(0)};
  const auto ids = c.inputs.to_int64("batch.input_ids"), mask = c.inputs.to_int64("batch.attention_mask");
  GreedyOptions options;
  options.max_new_tokens = 10;
  std::vector<std::vector<std::int64_t>> streamed(2);
  const auto out = generate_greedy(c.model, ids, mask, config, options, [&](std::int64_t row, std::int64_t id) {
    streamed[std::size_t(row)].push_back(id);
    return true;
  });
  for (std::int64_t b = 0; b < 2; ++b)
    EXPECT_EQ(streamed[std::size_t(b)], generated_ids(out.sequences, b, 1, config)) << c.name << " row " << b;

  std::int64_t calls = 0;
  const auto stopped = generate_greedy(c.model, ids, mask, config, options, [&](std::int64_t, std::int64_t) {
    ++calls;
    return false;
  });
  EXPECT_EQ(calls, 2) << "the step in progress finishes for every row";
  ASSERT_EQ(stopped.sequences.shape(), Shape({2, 2}));
  for (std::int64_t b = 0; b < 2; ++b) EXPECT_EQ(stopped.sequences(b, 1), out.sequences(b, 1));
}

INSTANTIATE_TEST_SUITE_P(Hf, Greedy, ::testing::Values("t5_a", "bart_a", "marian_a"));

TEST(Greedy, RefusesBadArguments) {
  const Seq2SeqCase c("bart_a");
  const auto ids = c.inputs.to_int64("single.input_ids");
  GreedyOptions options;
  options.max_new_tokens = -1;
  EXPECT_THROW(generate_greedy(c.model, ids, {}, c.config, options), Error);
  GenerationConfig no_start = c.config;
  no_start.decoder_start_token_id = no_start.bos_token_id = -1;
  EXPECT_THROW(generate_greedy(c.model, ids, {}, no_start, {}), Error);
}

}  // namespace
}  // namespace qkv
