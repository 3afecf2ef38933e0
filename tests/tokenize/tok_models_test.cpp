// Hand-made tokenizer.json files (tests/tools/make_tok_model_fixtures.py) encoded and decoded by
// qkv::Tokenizer, against the npm `tokenizers` package's output
// (tests/tools/tok_model_expectations.js -> tests/data/tokenize/models/expected.json).
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "qkv/tokenize/tokenizer.hpp"

namespace {

std::string tok_models_dir() { return QKV_TEST_DATA "/tokenize/models/"; }

nlohmann::json tok_models_expected() {
  std::ifstream in(tok_models_dir() + "expected.json");
  return nlohmann::json::parse(in);
}

}  // namespace

TEST(TokModels, MatchTokenizersOnEveryCase) {
  const nlohmann::json cases = tok_models_expected();
  ASSERT_GT(cases.size(), 50u);
  for (const auto& c : cases) {
    const std::string file = c.at("file");
    const qkv::Tokenizer tok = qkv::Tokenizer::load(tok_models_dir() + file);
    if (c.contains("text")) {
      const std::string text = c.at("text");
      SCOPED_TRACE(file + ": \"" + text + "\"");
      EXPECT_EQ(tok.encode(text), c.at("ids").get<std::vector<int>>());
      EXPECT_EQ(tok.encode(text, false), c.at("ids_without_specials").get<std::vector<int>>());
      EXPECT_EQ(tok.decode(c.at("ids").get<std::vector<int>>()), c.at("decoded").get<std::string>());
      EXPECT_EQ(tok.decode(c.at("ids").get<std::vector<int>>(), true), c.at("decoded_skipping_specials").get<std::string>());
    } else {
      SCOPED_TRACE(file + ": every id");
      EXPECT_EQ(tok.vocab_size(), c.at("vocab_size").get<int>());
      const auto all = c.at("all_ids").get<std::vector<int>>();
      // tokenizers skips ids that name no token; qkv skips those inside [0, vocab_size) and
      // refuses the ones beyond it (an out-of-range id is an error, not text that vanishes).
      std::vector<int> in_range;
      for (const int id : all) {
        if (id < tok.vocab_size() || !c.at("tokens")[std::size_t(id)].is_null()) in_range.push_back(id);
        else EXPECT_THROW(tok.decode({id}), qkv::Error) << id;
      }
      EXPECT_EQ(tok.decode(in_range), c.at("decoded").get<std::string>());
      EXPECT_EQ(tok.decode(in_range, true), c.at("decoded_skipping_specials").get<std::string>());
      for (std::size_t id = 0; id < all.size(); ++id) {
        const auto& token = c.at("tokens")[id];
        if (token.is_null()) {
          EXPECT_THROW(tok.id_to_token(static_cast<int>(id)), qkv::Error) << id;
        } else {
          EXPECT_EQ(tok.id_to_token(static_cast<int>(id)), token.get<std::string>());
          EXPECT_EQ(tok.token_to_id(token.get<std::string>()), static_cast<int>(id)) << token;
        }
      }
    }
  }
}
