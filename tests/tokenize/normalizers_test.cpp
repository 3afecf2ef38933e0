// Normalizers and the precompiled charsmap against outputs of the npm `tokenizers` package
// (tests/data/tokenize/normalizers.json, written by tests/tools/make_tokenize_expectations.js).
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "qkv/tokenize/base64.hpp"
#include "qkv/tokenize/normalizers.hpp"
#include "qkv/tokenize/precompiled.hpp"
#include "support/reference.hpp"

namespace {

using qkv::tokenize::make_normalizer;
using qkv::tokenize::PrecompiledCharsmap;

nlohmann::json normalizer_load_json(const std::string& name) {
  std::ifstream in(std::string(QKV_TEST_DATA) + "/tokenize/" + name);
  EXPECT_TRUE(in) << name;
  return nlohmann::json::parse(in);
}

std::string normalizer_tiny_charsmap() {
  std::ifstream in(std::string(QKV_TEST_DATA) + "/tokenize/precompiled_tiny.b64");
  std::string b64;
  in >> b64;
  return qkv::tokenize::base64_decode(b64, "precompiled_tiny.b64");
}

void normalizer_check_reference(const std::string& file) {
  const auto data = normalizer_load_json(file);
  const auto& texts = data["texts"];
  ASSERT_GE(data["cases"].size(), 5u);
  for (const auto& c : data["cases"]) {
    const auto normalizer = make_normalizer(c["spec"], "test normalizer");
    for (std::size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(normalizer->normalize(texts[i].get<std::string>()), c["outputs"][i].get<std::string>())
          << file << ": " << c["spec"].dump() << " on " << texts[i].dump();
    }
  }
}

// Hand-picked hard strings, and random strings of awkward characters.
TEST(NormalizerReference, MatchesTokenizers) { normalizer_check_reference("normalizers.json"); }
TEST(NormalizerReference, MatchesTokenizersOnRandomStrings) { normalizer_check_reference("normalizers_random.json"); }

TEST(NormalizerPrecompiled, ShortestMatchPerClusterLongestForSentencePiece) {
  const PrecompiledCharsmap map(normalizer_tiny_charsmap(), "tiny");
  // Rules (precompiled_rules.tsv): FF76 FF9E -> 30AC, FF76 -> 30AB, "a" U+0301 -> "y", "A" -> "a", ...
  const auto m = map.longest_match("\uff76\uff9e!");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->first, 6u);
  EXPECT_EQ(m->second, "\u30ac");
  EXPECT_FALSE(map.longest_match("zzz").has_value());
  EXPECT_EQ(map.longest_match("A")->second, "a");
  // tokenizers: a 6-byte cluster goes character by character.
  EXPECT_EQ(map.normalize_like_tokenizers("\uff76\uff9e"), "\u30ab\u3099");
  EXPECT_EQ(map.normalize_like_tokenizers("Abc \u2460"), "abc 1");
}

TEST(NormalizerPrecompiled, EmptyOrNullCharsmapIsANoOp) {
  for (const char* spec : {R"({"type":"Precompiled","precompiled_charsmap":null})",
                           R"({"type":"Precompiled","precompiled_charsmap":""})"}) {
    EXPECT_EQ(make_normalizer(nlohmann::json::parse(spec), "t")->normalize("A\u2460"), "A\u2460");
  }
}

TEST(NormalizerErrors, NameTheProblem) {
  using nlohmann::json;
  qkv::test::expect_error_mentions([] { make_normalizer(json{{"type", "Fancy"}}, "tokenizer.json: normalizer"); },
                          {"tokenizer.json: normalizer", "Fancy"});
  qkv::test::expect_error_mentions([] { make_normalizer(json{{"kind", "NFC"}}, "n"); }, {"'type'"});
  qkv::test::expect_error_mentions([] { make_normalizer(json{{"type", "Replace"}, {"content", "x"}}, "n"); }, {"'pattern'"});
  qkv::test::expect_error_mentions(
      [] { make_normalizer(json{{"type", "Replace"}, {"pattern", {{"Regex", "(a|b)c"}}}, {"content", ""}}, "n"); },
      {"(a|b)c"});
  qkv::test::expect_error_mentions([] { make_normalizer(json{{"type", "Replace"}, {"pattern", {{"String", "a"}}}}, "n"); },
                          {"'content'"});
  qkv::test::expect_error_mentions([] { make_normalizer(json{{"type", "Prepend"}}, "n"); }, {"'prepend'"});
  qkv::test::expect_error_mentions([] { make_normalizer(json{{"type", "Lowercase"}, {"x", 1}}.at("x"), "n"); }, {"object"});
  qkv::test::expect_error_mentions(
      [] { make_normalizer(json{{"type", "Sequence"}, {"normalizers", {json{{"type", "Nope"}}}}}, "norm"); },
      {"norm.normalizers[0]", "Nope"});
  qkv::test::expect_error_mentions([] { make_normalizer(json{{"type", "BertNormalizer"}, {"lowercase", "yes"}}, "n"); },
                          {"'lowercase'"});
  qkv::test::expect_error_mentions(
      [] { make_normalizer(json{{"type", "Precompiled"}, {"precompiled_charsmap", "not base64!"}}, "pc"); },
      {"pc", "base64"});
}

TEST(NormalizerErrors, MalformedCharsmap) {
  const std::string good = normalizer_tiny_charsmap();
  qkv::test::expect_error_mentions([] { PrecompiledCharsmap("\x01\x02", "cm"); }, {"cm", "too short"});
  qkv::test::expect_error_mentions([] { PrecompiledCharsmap(std::string("\xff\xff\x00\x00" "abcd", 8), "cm"); }, {"cm", "trie size"});
  qkv::test::expect_error_mentions([] { PrecompiledCharsmap(std::string("\x00\x00\x00\x00", 4), "cm"); }, {"empty trie"});
  std::string bad_pool = good;
  bad_pool.back() = '\xff';
  qkv::test::expect_error_mentions([&] { PrecompiledCharsmap(bad_pool, "cm"); }, {"cm", "UTF-8"});
  // A trie whose root points outside the array: found when searching.
  const std::string wild("\x04\x00\x00\x00\xff\xff\xff\xff", 8);
  const PrecompiledCharsmap map(wild, "cm");
  qkv::test::expect_error_mentions([&] { map.normalize_like_tokenizers("a"); }, {"cm", "out of range"});
}

}  // namespace
