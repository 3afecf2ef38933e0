#pragma once
// WordPiece as tokenizers does it: greedy longest-match-first from the left, pieces after the
// first carry the continuing-subword prefix ("##"); a word with any unmatchable rest, or longer
// than max_input_chars_per_word characters, becomes the single unknown token.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/model.hpp"
#include "qkv/tokenize/json_fields.hpp"

namespace qkv::tokenize {

class WordPieceModel : public Model {
 public:
  WordPieceModel(const nlohmann::json& spec, const std::string& where) {
    unk_token_ = fields::string_or(spec, "unk_token", "[UNK]", where);
    prefix_ = fields::string_or(spec, "continuing_subword_prefix", "##", where);
    max_chars_ = fields::present(spec, "max_input_chars_per_word")
                     ? static_cast<std::size_t>(fields::index_field(spec, "max_input_chars_per_word", where))
                     : 100;
    const auto& vocab = fields::required(spec, "vocab", where);
    if (!vocab.is_object()) fail(where, ": 'vocab' must be an object of token -> id");
    for (const auto& [token, id] : vocab.items()) vocab_.add(token, fields::index_of(id, where, "vocab"));
  }

  const Vocab& vocab() const override { return vocab_; }

  void tokenize(std::string_view word, std::vector<int>& out) const override {
    if (word.empty()) return;
    if (char_count(word) > max_chars_) return out.push_back(unk_id());
    std::vector<int> pieces;
    std::size_t start = 0;
    while (start < word.size()) {
      std::size_t end = word.size();
      std::optional<int> found;
      while (start < end) {
        std::string candidate = (start > 0 ? prefix_ : std::string()) + std::string(word.substr(start, end - start));
        if ((found = vocab_.find(candidate))) break;
        end = previous_boundary(word, end);  // drop the last character
      }
      if (!found) return out.push_back(unk_id());
      pieces.push_back(*found);
      start = end;
    }
    out.insert(out.end(), pieces.begin(), pieces.end());
  }

 private:
  static std::size_t char_count(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  }
  static std::size_t previous_boundary(std::string_view s, std::size_t end) {
    do --end;
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80);
    return end;
  }
  int unk_id() const {
    auto id = vocab_.find(unk_token_);
    if (!id) fail("WordPiece model: unk_token \"", unk_token_, "\" is not in the vocab");
    return *id;
  }

  Vocab vocab_;
  std::string unk_token_, prefix_;
  std::size_t max_chars_ = 100;
};

}  // namespace qkv::tokenize
