// qkv::generate on decoder-only models against transformers' greedy generate (v4.37): the ids
// must match exactly and every step's logits must match HF's `scores` at float32 tolerance,
// for one prompt, for left-padded batches, and when a row finishes early (eos_alt).
#include "qkv/generate/generate.hpp"

#include <thread>

#include "qkv/models/hf/load.hpp"
#include "support/hf_case.hpp"

namespace qkv {
namespace {

constexpr double kTolerance = 1e-5;

struct GenerateCase {
  std::string name;
  DecoderModel model;
  test::HfCase data;
  std::int64_t pad;  // the pad id HF's reference run used (meta.json generation.greedy)
  explicit GenerateCase(const std::string& n)
      : name(n),
        model(std::get<DecoderModel>(load(test::data_path("hf/" + n)))),
        data(n),
        pad(test::read_json(test::data_path("hf/" + n + "/meta.json"))["generation"]["greedy"]["pad_token_id"]) {}

  // Greedy options with the model's EOS and the reference's pad.
  GenerateOptions greedy(std::int64_t max_new_tokens = 10) const {
    GenerateOptions o = GenerateOptions::from(GenerationConfig::load(data.dir));
    o.pad_token_id = pad;
    o.max_new_tokens = max_new_tokens;
    o.sampling.greedy = true;
    o.output_logits = true;
    return o;
  }
  std::vector<std::int64_t> single_prompt() const { return prompts("single.input_ids", "single.attention_mask")[0]; }
  std::vector<std::vector<std::int64_t>> batch_prompts() const { return prompts("genbatch.input_ids", "genbatch.attention_mask"); }

 private:
  // Each row's tokens where the mask is 1 (strips the left padding).
  std::vector<std::vector<std::int64_t>> prompts(const std::string& ids_name, const std::string& mask_name) const {
    const Tensor<std::int64_t> ids = data.inputs.to_int64(ids_name), mask = data.inputs.to_int64(mask_name);
    std::vector<std::vector<std::int64_t>> out(std::size_t(ids.dim(0)));
    for (std::int64_t b = 0; b < ids.dim(0); ++b)
      for (std::int64_t t = 0; t < ids.dim(1); ++t)
        if (mask(b, t)) out[std::size_t(b)].push_back(ids(b, t));
    return out;
  }
};

// Row b of HF's sequences [B, W] from column `from` on.
std::vector<std::int64_t> tail(const Tensor<std::int64_t>& sequences, std::int64_t b, std::int64_t from) {
  std::vector<std::int64_t> out;
  for (std::int64_t t = from; t < sequences.dim(1); ++t) out.push_back(sequences(b, t));
  return out;
}

class GreedyGenerate : public ::testing::TestWithParam<const char*> {};

TEST_P(GreedyGenerate, SinglePromptMatchesTransformers) {
  const GenerateCase c(GetParam());
  const std::vector<std::int64_t> prompt = c.single_prompt();
  const GenerateResult r = generate(c.model, {prompt}, c.greedy());
  const Tensor<std::int64_t> sequences = c.data.expected.to_int64("single.greedy.sequences");  // [1, 7 + 10]
  ASSERT_EQ(sequences.dim(1), std::int64_t(prompt.size()) + 10);
  EXPECT_EQ(tail(sequences, 0, 0).size(), prompt.size() + r.ids[0].size());
  EXPECT_EQ(r.ids[0], tail(sequences, 0, std::int64_t(prompt.size())));
  test::expect_close(r.logits, c.data.expected.to_float("single.greedy.scores"), test::float32_reference_rtol(kTolerance), c.name + " single scores");
}

TEST_P(GreedyGenerate, LeftPaddedBatchMatchesTransformers) {
  const GenerateCase c(GetParam());
  const auto prompts = c.batch_prompts();
  ASSERT_NE(prompts[0].size(), prompts[1].size()) << "the batch must need padding";
  const GenerateResult r = generate(c.model, prompts, c.greedy());
  const Tensor<std::int64_t> sequences = c.data.expected.to_int64("batch.greedy.sequences");  // [2, 13 + 10]
  const std::int64_t width = c.data.inputs.to_int64("genbatch.input_ids").dim(1);
  ASSERT_EQ(sequences.dim(1), width + 10);
  for (std::int64_t b = 0; b < 2; ++b) EXPECT_EQ(r.ids[std::size_t(b)], tail(sequences, b, width)) << "row " << b;
  test::expect_close(r.logits, c.data.expected.to_float("batch.greedy.scores"), test::float32_reference_rtol(kTolerance), c.name + " batch scores");
}

TEST_P(GreedyGenerate, RowThatReachesEosIsFilledWithPadUntilAllRowsFinish) {
  const GenerateCase c(GetParam());
  GenerateOptions o = c.greedy();
  o.eos_token_ids = {c.data.expected.to_int64("batch.eos_alt.eos_token_id").data()[0]};
  const GenerateResult r = generate(c.model, c.batch_prompts(), o);
  const Tensor<std::int64_t> sequences = c.data.expected.to_int64("batch.eos_alt.greedy.sequences");  // [2, <= 23]
  const Tensor<float> scores = c.data.expected.to_float("batch.eos_alt.greedy.scores");            // [steps, 2, V]
  const std::int64_t width = c.data.inputs.to_int64("genbatch.input_ids").dim(1), steps = sequences.dim(1) - width;
  ASSERT_EQ(scores.dim(0), steps);
  ASSERT_EQ(r.logits.dim(0), steps);
  // Row 0 stops at EOS; HF pads it to the batch's length.
  ASSERT_FALSE(r.ids[0].empty());
  EXPECT_EQ(r.ids[0].back(), o.eos_token_ids[0]);
  EXPECT_LT(std::int64_t(r.ids[0].size()), steps);
  for (std::int64_t b = 0; b < 2; ++b) {
    std::vector<std::int64_t> padded = r.ids[std::size_t(b)];
    padded.resize(std::size_t(steps), c.pad);
    EXPECT_EQ(padded, tail(sequences, b, width)) << "row " << b;
  }
  // Finished rows were fed pads as HF feeds them, so even their logits match.
  test::expect_close(r.logits, scores, test::float32_reference_rtol(kTolerance), c.name + " eos_alt scores");
}

INSTANTIATE_TEST_SUITE_P(Hf, GreedyGenerate, ::testing::Values("gpt2_a", "gpt2_a_fp16", "llama_a", "llama_gqa"));

TEST(Generate, StopIdsAndEosFinishARow) {
  const GenerateCase c("gpt2_a");
  const GenerateResult full = generate(c.model, {c.single_prompt()}, c.greedy());
  ASSERT_EQ(full.ids[0].size(), 10u);
  GenerateOptions o = c.greedy();
  o.stop_ids = {full.ids[0][3]};
  const auto first = std::find(full.ids[0].begin(), full.ids[0].end(), full.ids[0][3]);
  const std::vector<std::int64_t> expected(full.ids[0].begin(), first + 1);
  EXPECT_EQ(generate(c.model, {c.single_prompt()}, o).ids[0], expected);
  o.stop_ids.clear();
  o.eos_token_ids.push_back(full.ids[0][3]);  // a second EOS id
  const GenerateResult r = generate(c.model, {c.single_prompt()}, o);
  EXPECT_EQ(r.ids[0], expected);
  EXPECT_EQ(r.logits.dim(0), std::int64_t(expected.size()));  // the loop ended with the last row
}

TEST(Generate, StreamingSeesEveryTokenOfEveryUnfinishedRowInOrder) {
  const GenerateCase c("gpt2_a");
  GenerateOptions o = c.greedy();
  o.eos_token_ids = {c.data.expected.to_int64("batch.eos_alt.eos_token_id").data()[0]};
  std::vector<std::vector<std::int64_t>> streamed(2);
  std::vector<std::int64_t> rows;
  const GenerateResult r = generate(c.model, c.batch_prompts(), o, [&](std::int64_t row, std::int64_t id) {
    streamed[std::size_t(row)].push_back(id);
    rows.push_back(row);
    return true;
  });
  EXPECT_EQ(streamed, r.ids);  // nothing after EOS: finished rows' pads are not streamed
  EXPECT_EQ(rows[0], 0);
  EXPECT_EQ(rows[1], 1);
}

TEST(Generate, CallbackReturningFalseStopsEverything) {
  const GenerateCase c("gpt2_a");
  std::int64_t calls = 0;
  const GenerateResult r = generate(c.model, c.batch_prompts(), c.greedy(20), [&](std::int64_t, std::int64_t) {
    return ++calls < 5;  // the 5th token (row 0 of step 2) is the last
  });
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(r.ids[0].size(), 3u);
  EXPECT_EQ(r.ids[1].size(), 2u);
  EXPECT_EQ(r.logits.dim(0), 3);
  const GenerateResult greedy = generate(c.model, c.batch_prompts(), c.greedy());
  EXPECT_TRUE(std::equal(r.ids[0].begin(), r.ids[0].end(), greedy.ids[0].begin()));
}

TEST(Generate, SamplingIsReproducibleAndIndependentOfTheBatch) {
  const GenerateCase c("llama_a");
  GenerateOptions o = GenerateOptions::from(GenerationConfig::load(c.data.dir));
  o.max_new_tokens = 12;
  o.sampling.temperature = 1.3f;  // spread the draw over many tokens
  o.sampling.top_k = 50;
  o.sampling.top_p = 0.95f;
  o.sampling.seed = 7;
  const auto prompts = c.batch_prompts();
  const GenerateResult a = generate(c.model, prompts, o), b = generate(c.model, prompts, o);
  EXPECT_EQ(a.ids, b.ids);
  // Each row has its own sampler with the seed, so a row gives what it gives alone.
  EXPECT_EQ(generate(c.model, {prompts[1]}, o).ids[0], a.ids[1]);
  o.sampling.seed = 8;
  EXPECT_NE(generate(c.model, prompts, o).ids, a.ids);
  const GenerateResult greedy = generate(c.model, prompts, c.greedy(12));
  EXPECT_NE(a.ids, greedy.ids);
}

TEST(Generate, RepetitionPenaltySeesTheRowsOwnTokensNotThePadding) {
  // Row 1 is left-padded with pad ids; HF's processor would penalize them, qkv does not, so the
  // row generates what it generates alone.
  const GenerateCase c("llama_a");
  GenerateOptions o = c.greedy(10);
  o.sampling.repetition_penalty = 1.5f;
  const auto prompts = c.batch_prompts();
  const GenerateResult batch = generate(c.model, prompts, o);
  EXPECT_EQ(generate(c.model, {prompts[1]}, o).ids[0], batch.ids[1]);
  EXPECT_NE(batch.ids, generate(c.model, prompts, c.greedy(10)).ids) << "the penalty changed nothing";
}

TEST(Generate, ZeroNewTokensRunsNothing) {
  const GenerateCase c("gpt2_a");
  const GenerateResult r = generate(c.model, c.batch_prompts(), c.greedy(0));
  EXPECT_EQ(r.ids, (std::vector<std::vector<std::int64_t>>{{}, {}}));
  EXPECT_EQ(r.logits.shape(), Shape({0, 2, 211}));
}

TEST(Generate, ConcurrentRequestsShareOneConstModel) {
  const GenerateCase c("llama_gqa");
  const auto expected = c.data.expected.to_int64("batch.greedy.sequences");
  const std::int64_t width = c.data.inputs.to_int64("genbatch.input_ids").dim(1);
  std::vector<GenerateResult> results(4);
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&] { r = generate(c.model, c.batch_prompts(), c.greedy()); });
  for (auto& t : threads) t.join();
  for (const auto& r : results)
    for (std::int64_t b = 0; b < 2; ++b) EXPECT_EQ(r.ids[std::size_t(b)], tail(expected, b, width));
}

// The message of the qkv::Error generate throws ("no error" if none).
std::string error_of(const DecoderModel& model, const std::vector<std::vector<std::int64_t>>& prompts, const GenerateOptions& o) {
  try {
    generate(model, prompts, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

::testing::AssertionResult mentions(const std::string& message, const std::string& part) {
  if (message.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "the error '" << message << "' does not say '" << part << "'";
}

TEST(Generate, BadRequestsAreErrorsNamingTheProblem) {
  const GenerateCase c("gpt2_a");  // vocab 211, 64 positions
  const GenerateOptions o = c.greedy(5);
  EXPECT_TRUE(mentions(error_of(c.model, {}, o), "no prompts"));
  EXPECT_TRUE(mentions(error_of(c.model, {{1, 2}, {}}, o), "prompt 1 is empty"));
  EXPECT_TRUE(mentions(error_of(c.model, {{1, 211}}, o), "prompt 0 token 1 is id 211, outside the vocabulary [0, 211)"));
  EXPECT_TRUE(mentions(error_of(c.model, {{-3}}, o), "id -3, outside the vocabulary"));
  GenerateOptions negative = o;
  negative.max_new_tokens = -1;
  EXPECT_TRUE(mentions(error_of(c.model, {{1}}, negative), "max_new_tokens must be >= 0, got -1"));
  const std::vector<std::int64_t> sixty(60, 5);
  EXPECT_TRUE(mentions(error_of(c.model, {{1}, sixty}, o), "longest prompt (60 tokens) + max_new_tokens (5) exceeds the model's 64 positions"));
  EXPECT_EQ(error_of(c.model, {sixty}, c.greedy(4)), "no error");  // exactly fills the table
  GenerateOptions bad_pad = o;
  bad_pad.pad_token_id = 300;
  EXPECT_TRUE(mentions(error_of(c.model, {{1}}, bad_pad), "pad_token_id 300"));
  GenerateOptions hot = o;
  hot.sampling.greedy = false;
  hot.sampling.temperature = 0.0f;
  EXPECT_TRUE(mentions(error_of(c.model, {{1}}, hot), "temperature must be > 0"));
}

TEST(Generate, RotaryModelsHaveNoPositionLimit) {
  // LLaMA's max_position_embeddings (128 here) sizes the rotary cache; it is no hard limit.
  const GenerateCase c("llama_a");
  EXPECT_EQ(error_of(c.model, {std::vector<std::int64_t>(130, 5)}, c.greedy(3)), "no error");
}

}  // namespace
}  // namespace qkv
