#include "qkv/models/generation_config.hpp"

#include "support/reference.hpp"

namespace qkv {
namespace {

TEST(GenerationConfig, ReadsTheSpecialIdsOfEachReferenceCase) {
  const auto gpt2 = GenerationConfig::load(test::data_path("hf/gpt2_a"));
  EXPECT_EQ(gpt2.eos_token_ids, std::vector<std::int64_t>{210});
  EXPECT_EQ(gpt2.pad_token_id, 210);  // no pad: HF uses EOS
  EXPECT_TRUE(gpt2.is_eos(210));
  EXPECT_FALSE(gpt2.is_eos(0));
  const auto marian = GenerationConfig::load(test::data_path("hf/marian_a"));
  EXPECT_EQ(marian.decoder_start_token_id, 180);
  EXPECT_EQ(marian.pad_token_id, 180);
  EXPECT_EQ(marian.eos_token_ids, std::vector<std::int64_t>{0});
  const auto bert = GenerationConfig::load(test::data_path("hf/bert_a"));  // no generation_config.json
  EXPECT_EQ(bert.pad_token_id, 0);
  EXPECT_TRUE(bert.eos_token_ids.empty());
}

}  // namespace
}  // namespace qkv
