// The reference corpus (tests/data/tokenize/*/expected.json: 555 hard strings on real GPT-2,
// BERT, LLaMA/Qwen/RoBERTa-style and Unigram tokenizers, ids and decodes from the npm
// `tokenizers` package) run through qkv::Tokenizer; and the SentencePiece unigram model of the
// corpus against python3-sentencepiece (spm_expected.json).
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "qkv/tokenize/sentencepiece.hpp"
#include "qkv/tokenize/tokenizer.hpp"

namespace {

std::string tok_corpus_dir(const std::string& name) { return QKV_TEST_DATA "/tokenize/" + name + "/"; }

nlohmann::json tok_corpus_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// The raw input: invalid UTF-8 cases carry their bytes in "hex".
std::string tok_corpus_input(const nlohmann::json& c) {
  if (!c.contains("hex")) return c.at("text").get<std::string>();
  const std::string hex = c.at("hex");
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return bytes;
}

class TokReferenceCorpus : public ::testing::TestWithParam<std::string> {};

// Mismatches are counted and the first few printed, so one bug does not flood the log.
TEST_P(TokReferenceCorpus, EncodeAndDecodeMatchTokenizers) {
  const std::string dir = tok_corpus_dir(GetParam());
  const qkv::Tokenizer tok = qkv::Tokenizer::load(dir + "tokenizer.json");
  const nlohmann::json cases = tok_corpus_json(dir + "expected.json").at("cases");
  int checked = 0, mismatches = 0;
  auto check = [&](bool ok, const nlohmann::json& c, const std::string& what, const std::string& got) {
    ++checked;
    if (ok) return;
    if (++mismatches <= 8)
      ADD_FAILURE() << GetParam() << " case " << c.at("id") << " (" << c.at("category") << ") " << what
                    << "\n  text: " << c.at("text").dump() << "\n  got:  " << got;
  };
  auto dump = [](const std::vector<int>& ids) { return nlohmann::json(ids).dump(); };
  for (const auto& c : cases) {
    const std::string input = tok_corpus_input(c);
    const auto ids = c.at("ids").get<std::vector<int>>();
    const auto plain = c.contains("ids_plain") ? c.at("ids_plain").get<std::vector<int>>() : ids;
    auto got = tok.encode(input);
    check(got == ids, c, "ids, expected " + dump(ids), dump(got));
    got = tok.encode(input, false);
    check(got == plain, c, "ids without specials, expected " + dump(plain), dump(got));
    std::string text = tok.decode(ids);
    check(text == c.at("decode"), c, "decode, expected " + c.at("decode").dump(), nlohmann::json(text).dump());
    text = tok.decode(ids, true);
    check(text == c.at("decode_skip"), c, "decode skipping specials, expected " + c.at("decode_skip").dump(),
          nlohmann::json(text).dump());
  }
  EXPECT_EQ(mismatches, 0) << "of " << checked << " checks";
  EXPECT_GE(cases.size(), 300u);
}

INSTANTIATE_TEST_SUITE_P(TokCorpus, TokReferenceCorpus,
                         ::testing::Values("gpt2", "bert-base-uncased", "llama3-style", "qwen2-style", "roberta-style",
                                           "wordpiece-variants", "wordpiece-cased", "unigram", "unigram-newconv",
                                           "llama2-style"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

TEST(TokReferenceSpm, UnigramModelMatchesSentencepiece) {
  const std::string dir = tok_corpus_dir("unigram");
  const auto spm = qkv::tokenize::SentencePieceProcessor::load(dir + "spm.model");
  const nlohmann::json cases = tok_corpus_json(dir + "spm_expected.json").at("cases");
  int mismatches = 0;
  for (const auto& c : cases) {
    std::vector<int> ids;
    // python3-sentencepiece was given the text after U+FFFD repair, not the raw bytes.
    for (const auto& piece : spm.encode_as_pieces(c.at("text").get<std::string>())) ids.push_back(spm.piece_id(piece));
    if (ids != c.at("ids").get<std::vector<int>>() && ++mismatches <= 8)
      ADD_FAILURE() << "case " << c.at("id") << " " << c.at("text").dump() << ": got " << nlohmann::json(ids).dump()
                    << ", expected " << c.at("ids").dump();
  }
  EXPECT_EQ(mismatches, 0) << "of " << cases.size() << " cases";
}

}  // namespace
