// SentencePiece files and the Marian folder in tests/data/tokenize/marian/, against
// python3-sentencepiece and transformers' MarianTokenizer logic
// (tests/tools/make_marian_fixtures.py -> spm_cases.json, expected.json).
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "qkv/tokenize/sentencepiece.hpp"
#include "qkv/tokenize/tokenizer.hpp"

namespace {

std::string tok_marian_dir() { return QKV_TEST_DATA "/tokenize/marian/"; }

nlohmann::json tok_marian_json(const std::string& name) {
  std::ifstream in(tok_marian_dir() + name);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST(TokSentencePiece, PiecesAndIdsMatchSentencepiece) {
  for (const auto& c : tok_marian_json("spm_cases.json")) {
    const std::string model = c.at("model"), text = c.at("text");
    SCOPED_TRACE(model + ": \"" + text + "\"");
    const auto spm = qkv::tokenize::SentencePieceProcessor::load(tok_marian_dir() + model);
    const auto pieces = spm.encode_as_pieces(text);
    EXPECT_EQ(pieces, c.at("pieces").get<std::vector<std::string>>());
    std::vector<int> ids;
    for (const auto& p : pieces) ids.push_back(spm.piece_id(p));
    EXPECT_EQ(ids, c.at("ids").get<std::vector<int>>());
  }
}

TEST(TokMarian, EncodeDecodeMatchMarianTokenizer) {
  const qkv::Tokenizer tok = qkv::Tokenizer::load(tok_marian_dir());
  for (const auto& c : tok_marian_json("expected.json")) {
    const auto ids = c.at("ids").get<std::vector<int>>();
    if (c.contains("text")) {
      const std::string text = c.at("text");
      SCOPED_TRACE(text);
      EXPECT_EQ(tok.encode(text), ids);
      auto without = ids;
      without.pop_back();
      EXPECT_EQ(tok.encode(text, false), without);
    }
    EXPECT_EQ(tok.decode(ids), c.at("decoded").get<std::string>());
    EXPECT_EQ(tok.decode(ids, true), c.at("decoded_skipping_specials").get<std::string>());
  }
  EXPECT_EQ(tok.id_to_token(0), "</s>");
  EXPECT_EQ(tok.token_to_id("<pad>"), tok.vocab_size() - 1);
}

TEST(TokSentencePiece, TruncatedOrGarbageFilesAreErrors) {
  std::ifstream in(tok_marian_dir() + "target.spm", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (std::size_t cut : {std::size_t{1}, std::size_t{7}, bytes.size() / 2, bytes.size() - 3}) {
    EXPECT_THROW(qkv::tokenize::SentencePieceModel::parse(std::string_view(bytes).substr(0, cut), "target.spm"), qkv::Error)
        << cut;
  }
  EXPECT_THROW(qkv::tokenize::SentencePieceModel::parse("not a protobuf at all", "x.spm"), qkv::Error);
  EXPECT_THROW(qkv::tokenize::SentencePieceModel::parse("", "x.spm"), qkv::Error);
  try {
    qkv::tokenize::SentencePieceModel::parse(std::string_view(bytes).substr(0, bytes.size() / 2), "dir/target.spm");
  } catch (const qkv::Error& e) {
    EXPECT_NE(std::string(e.what()).find("dir/target.spm"), std::string::npos) << e.what();
  }
}

TEST(TokSentencePiece, MalformedBytesReadAsReplacementCharacter) {
  // python3-sentencepiece: encode(b"\xff") on the corpus unigram model gives [3, 0] ("▁", <unk>),
  // while the text "\uFFFD" is deleted by the nmt_nfkc charsmap.
  const auto spm = qkv::tokenize::SentencePieceProcessor::load(QKV_TEST_DATA "/tokenize/unigram/spm.model");
  std::vector<int> ids;
  for (const auto& p : spm.encode_as_pieces("\xff")) ids.push_back(spm.piece_id(p));
  EXPECT_EQ(ids, (std::vector<int>{3, 0}));
  EXPECT_TRUE(spm.encode_as_pieces("\xEF\xBF\xBD").empty());
}
