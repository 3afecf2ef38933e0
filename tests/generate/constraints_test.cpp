#include "qkv/generate/constraints.hpp"

#include <cmath>

#include "qkv/generate/beam_search.hpp"
#include "qkv/generate/generate.hpp"
#include "qkv/generate/seq2seq.hpp"
#include "qkv/models/hf/load.hpp"
#include "support/hf_case.hpp"

namespace qkv {
namespace {

bool banned(const std::vector<float>& s, std::int64_t id) { return std::isinf(s[std::size_t(id)]) && s[std::size_t(id)] < 0; }

TEST(TokenConstraints, BadWordsFollowHfNoBadWordsLogitsProcessor) {
  GenerationConfig config;
  config.eos_token_ids = {2};
  config.bad_words_ids = {{7}, {3, 4, 5}, {2}};  // [2] is the EOS: HF drops it
  const TokenConstraints c = TokenConstraints::from(config);
  ASSERT_EQ(c.bad_words_ids.size(), 2u);
  std::vector<float> s(10, 1.0f);
  c.apply(s.data(), 10, {0, 3, 4}, 100);  // ends with the prefix 3 4: 5 is banned; 7 always
  EXPECT_TRUE(banned(s, 7));
  EXPECT_TRUE(banned(s, 5));
  EXPECT_FALSE(banned(s, 2));
  EXPECT_EQ(s[4], 1.0f);
  std::vector<float> t(10, 1.0f);
  c.apply(t.data(), 10, {0, 4, 3}, 100);  // prefix not at the end: 5 allowed
  EXPECT_FALSE(banned(t, 5));
}

TEST(TokenConstraints, ForcedFirstAndLastIds) {
  GenerationConfig config;
  config.forced_bos_token_id = 4;
  config.forced_eos_token_id = 6;
  const TokenConstraints c = TokenConstraints::from(config);
  std::vector<float> s(8, 1.0f);
  c.apply(s.data(), 8, {0}, 10);  // only the decoder start so far
  for (std::int64_t v = 0; v < 8; ++v) EXPECT_EQ(s[std::size_t(v)] == 0.0f, v == 4) << v;
  std::vector<float> t(8, 1.0f);
  c.apply(t.data(), 8, {0, 1, 2, 3, 4, 5, 6, 7, 8}, 10);  // the last step before max length
  for (std::int64_t v = 0; v < 8; ++v) EXPECT_EQ(t[std::size_t(v)] == 0.0f, v == 6) << v;
  std::vector<float> u(8, 1.0f);
  c.apply(u.data(), 8, {0, 1, 2}, 10);
  for (float x : u) EXPECT_EQ(x, 1.0f);
}

TEST(TokenConstraints, ReadFromGenerationConfigJson) {
  const test::TempDir dir;
  test::write_json(dir.path() + "/config.json", {{"eos_token_id", 0}, {"pad_token_id", 180}});
  test::write_json(dir.path() + "/generation_config.json",
                   {{"bad_words_ids", {{180}}}, {"forced_bos_token_id", 3}, {"eos_token_id", 0}});
  const auto config = GenerationConfig::load(dir.path());
  EXPECT_EQ(config.bad_words_ids, (std::vector<std::vector<std::int64_t>>{{180}}));
  EXPECT_EQ(config.forced_bos_token_id, 3);
  test::write_json(dir.path() + "/generation_config.json", {{"bad_words_ids", {180}}});
  EXPECT_NE(test::error_of([&] { GenerationConfig::load(dir.path()); }).find("bad_words_ids"), std::string::npos);
}

// opus-mt checkpoints ban the pad id; marian_a's greedy batch run emits it (pad 180) without that.
TEST(TokenConstraints, BannedIdNeverAppearsInGreedyOrBeamOutput) {
  const test::HfCase c("marian_a");
  const auto model = std::get<EncoderDecoderModel>(load(c.dir));
  GenerationConfig config = GenerationConfig::load(c.dir);
  const auto ids = c.inputs.to_int64("batch.input_ids"), mask = c.inputs.to_int64("batch.attention_mask");
  const auto plain = generate_greedy(model, ids, mask, config, {10, false});
  std::int64_t emitted = 0;
  for (std::int64_t b = 0; b < plain.sequences.dim(0); ++b)
    for (std::int64_t t = 1; t < plain.sequences.dim(1); ++t) emitted += plain.sequences(b, t) == 180;
  ASSERT_GT(emitted, 0) << "the check needs a run that emits the pad id";
  config.bad_words_ids = {{180}};
  const auto constrained = generate_greedy(model, ids, mask, config, {10, false});
  for (std::int64_t b = 0; b < constrained.sequences.dim(0); ++b)
    for (std::int64_t t = 1; t < constrained.sequences.dim(1); ++t)
      if (constrained.sequences(b, t) == 180) {
        // only as padding after an EOS
        bool after_eos = false;
        for (std::int64_t u = 1; u < t; ++u) after_eos = after_eos || config.is_eos(constrained.sequences(b, u));
        EXPECT_TRUE(after_eos) << "row " << b << " step " << t;
      }
  BeamSearchOptions beam;
  beam.num_beams = 4;
  beam.max_new_tokens = 10;
  const auto beamed = beam_search(model, ids, mask, config, beam);
  for (std::int64_t b = 0; b < beamed.sequences.dim(0); ++b) {
    bool ended = false;
    for (std::int64_t t = 1; t < beamed.sequences.dim(1); ++t) {
      EXPECT_TRUE(ended || beamed.sequences(b, t) != 180) << "row " << b << " step " << t;
      ended = ended || config.is_eos(beamed.sequences(b, t));
    }
  }
}

TEST(TokenConstraints, DecoderGenerationAvoidsABannedContinuation) {
  const test::HfCase c("gpt2_a");
  const auto model = std::get<DecoderModel>(load(c.dir));
  const Tensor<std::int64_t> prompt = c.inputs.to_int64("single.input_ids");
  const std::vector<std::int64_t> ids(prompt.data(), prompt.data() + prompt.numel());
  GenerateOptions options = GenerateOptions::from(GenerationConfig::load(c.dir));
  options.max_new_tokens = 6;
  options.sampling.greedy = true;
  const auto free_run = generate(model, {ids}, options).ids[0];
  options.constraints.bad_words_ids = {{free_run[0]}};
  const auto constrained = generate(model, {ids}, options).ids[0];
  for (std::int64_t id : constrained) EXPECT_NE(id, free_run[0]);
}

}  // namespace
}  // namespace qkv
