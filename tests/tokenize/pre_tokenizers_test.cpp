// Pre-tokenizers against outputs of the npm `tokenizers` package
// (tests/data/tokenize/pre_tokenizers.json, written by tests/tools/make_tokenize_expectations.js).
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "qkv/tokenize/pre_tokenizers.hpp"
#include "support/reference.hpp"

namespace {

using qkv::tokenize::make_pre_tokenizer;
using qkv::tokenize::PreToken;

std::vector<std::string> pre_tokenizer_texts(const std::vector<PreToken>& pieces) {
  std::vector<std::string> out;
  for (const auto& p : pieces) out.push_back(p.text);
  return out;
}

void pre_tokenizer_check_reference(const std::string& file) {
  std::ifstream in(std::string(QKV_TEST_DATA) + "/tokenize/" + file);
  ASSERT_TRUE(in) << file;
  const auto data = nlohmann::json::parse(in);
  const auto& texts = data["texts"];
  ASSERT_GE(data["cases"].size(), 8u);
  for (const auto& c : data["cases"]) {
    const auto pre = make_pre_tokenizer(c["spec"], "test pre_tokenizer");
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const auto got = pre_tokenizer_texts(pre->split({{texts[i].get<std::string>(), true}}));
      EXPECT_EQ(got, c["outputs"][i].get<std::vector<std::string>>())
          << file << ": " << c["spec"].dump() << " on " << texts[i].dump();
    }
  }
}

// Hand-picked hard strings, and random strings of awkward characters.
TEST(PreTokenizerReference, MatchesTokenizers) { pre_tokenizer_check_reference("pre_tokenizers.json"); }
TEST(PreTokenizerReference, MatchesTokenizersOnRandomStrings) { pre_tokenizer_check_reference("pre_tokenizers_random.json"); }

TEST(PreTokenizerMetaspace, FirstPrependsOnlyAtTheInputStart) {
  const auto pre = make_pre_tokenizer(
      nlohmann::json::parse(R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"first","split":true})"), "m");
  // As after an added token: the second piece does not start the input.
  const auto out = pre->split({{"Hey there", true}, {"friend", false}});
  EXPECT_EQ(pre_tokenizer_texts(out), (std::vector<std::string>{"\u2581Hey", "\u2581there", "friend"}));
  EXPECT_TRUE(out[0].at_input_start);
  EXPECT_FALSE(out[1].at_input_start || out[2].at_input_start);
}

TEST(PreTokenizerErrors, NameTheProblem) {
  using nlohmann::json;
  qkv::test::expect_error_mentions([] { make_pre_tokenizer(json{{"type", "Magic"}}, "tokenizer.json: pre_tokenizer"); },
                             {"tokenizer.json: pre_tokenizer", "Magic"});
  qkv::test::expect_error_mentions(
      [] { make_pre_tokenizer(json{{"type", "Split"}, {"pattern", {{"Regex", "\\p{Han}+|x"}}}, {"behavior", "Isolated"}}, "s"); },
      {"s", "\\p{Han}+|x"});
  qkv::test::expect_error_mentions(
      [] { make_pre_tokenizer(json{{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}}, "s"); },
      {"Sideways"});
  qkv::test::expect_error_mentions([] { make_pre_tokenizer(json{{"type", "Split"}, {"behavior", "Isolated"}}, "s"); },
                             {"'pattern'"});
  qkv::test::expect_error_mentions([] { make_pre_tokenizer(json{{"type", "Metaspace"}}, "m"); }, {"'replacement'"});
  qkv::test::expect_error_mentions(
      [] { make_pre_tokenizer(json{{"type", "Metaspace"}, {"replacement", "ab"}, {"prepend_scheme", "always"}}, "m"); },
      {"one character"});
  qkv::test::expect_error_mentions(
      [] { make_pre_tokenizer(json{{"type", "Metaspace"}, {"replacement", "_"}, {"prepend_scheme", "sometimes"}}, "m"); },
      {"sometimes"});
  qkv::test::expect_error_mentions(
      [] { make_pre_tokenizer(json{{"type", "Metaspace"}, {"replacement", "_"}, {"add_prefix_space", false}}, "m"); },
      {"add_prefix_space"});
  qkv::test::expect_error_mentions(
      [] { make_pre_tokenizer(json{{"type", "Sequence"}, {"pretokenizers", {json{{"type", "Nope"}}}}}, "p"); },
      {"p.pretokenizers[0]", "Nope"});
  qkv::test::expect_error_mentions([] { make_pre_tokenizer(json{{"type", "Sequence"}}, "p"); }, {"'pretokenizers'"});
  qkv::test::expect_error_mentions([] { make_pre_tokenizer(json{{"type", "Digits"}, {"individual_digits", 1}}, "d"); },
                             {"'individual_digits'"});
}

}  // namespace
