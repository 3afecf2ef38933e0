// Invalid tokenizer files and arguments give qkv::Error naming the file and what was expected.
#include <string>

#include <gtest/gtest.h>

#include "qkv/tokenize/tokenizer.hpp"
#include "support/reference.hpp"

namespace {

// The message of the qkv::Error that loading `json` throws ("" if it loads).
std::string tok_load_error(const std::string& json) {
  return qkv::test::error_of([&] { qkv::Tokenizer::from_json(json, "bad/tokenizer.json"); });
}

const char* const kTokBpeModel =
    R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";

}  // namespace

TEST(TokErrors, InvalidTokenizerJsonNamesFileAndProblem) {
  struct Case {
    std::string json, expected;
  };
  const Case cases[] = {
      {"{not json", "not valid JSON"},
      {"{}", "missing field 'model'"},
      {R"({"model": {"type": "Magic", "vocab": {}}})", "unknown model type \"Magic\""},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})", "\"b\" is not in the vocab"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}})", "\"ab\" is not in the vocab"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b c"]}})", "two tokens"},
      {R"({"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}})", "non-negative integer"},
      {R"({"model": {"type": "BPE", "dropout": 0.1, "vocab": {}, "merges": []}})", "dropout"},
      {R"({"model": {"type": "Unigram", "unk_id": 5, "vocab": [["a", -1.0]]}})", "unk_id 5 is outside"},
      {R"({"model": {"type": "Unigram", "vocab": [["a"]]}})", "[piece, score]"},
      {std::string("{") + kTokBpeModel + R"(, "decoder": {"type": "Nope"}})", "unknown decoder type \"Nope\""},
      {std::string("{") + kTokBpeModel + R"(, "post_processor": {"type": "Nope"}})", "unknown post-processor type"},
      {std::string("{") + kTokBpeModel + R"(, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[X]"}}, {"Sequence": {"id": "A"}}], "special_tokens": {}}})",
       "\"[X]\" is missing"},
      {std::string("{") + kTokBpeModel + R"(, "decoder": {"type": "Metaspace", "replacement": "ab"}})", "single character"},
      {std::string("{") + kTokBpeModel + R"(, "added_tokens": [{"id": 3}]})", "missing field 'content'"},
  };
  for (const Case& c : cases) {
    const std::string message = tok_load_error(c.json);
    EXPECT_NE(message.find("bad/tokenizer.json"), std::string::npos) << c.json << " -> " << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.json << " -> " << message;
  }
}

TEST(TokErrors, MissingFilesAndIds) {
  EXPECT_THROW(qkv::Tokenizer::load("/nonexistent/tokenizer.json"), qkv::Error);
  EXPECT_THROW(qkv::Tokenizer::load(QKV_TEST_DATA "/tokenize"), qkv::Error);  // a folder without a tokenizer
  const qkv::Tokenizer tok = qkv::Tokenizer::from_json(std::string("{") + kTokBpeModel + "}", "t.json");
  EXPECT_EQ(tok.id_to_token(2), "ab");
  EXPECT_THROW(tok.id_to_token(3), qkv::Error);
  EXPECT_THROW(tok.id_to_token(-1), qkv::Error);
  EXPECT_EQ(tok.token_to_id("zz"), std::nullopt);
  EXPECT_EQ(tok.encode("abba"), (std::vector<int>{2, 1, 0}));  // no unk token: nothing for unknown characters
  EXPECT_EQ(tok.decode({2, 1}), "ab b");                        // no decoder: tokens joined by spaces
  for (const int bad : {3, 99, -1})
    qkv::test::expect_error_mentions([&] { tok.decode({2, bad, 1}); },
                                     {"token id " + std::to_string(bad) + " is outside the vocabulary (3 tokens)"});
}
