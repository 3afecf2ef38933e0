#pragma once
// The model stage of a tokenizer: turns one pre-tokenized word into token ids. BPE, WordPiece and
// Unigram (bpe.hpp, wordpiece.hpp, unigram.hpp) implement this interface over a Vocab.
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "qkv/core/error.hpp"

namespace qkv::tokenize {

// Token string <-> id. Ids need not be dense (a BPE vocab.json may skip some).
class Vocab {
 public:
  // A repeated token keeps the last id given, as a Rust HashMap built from the same list would;
  // the reverse map keeps every id.
  void add(const std::string& token, int id) {
    ids_[token] = id;
    tokens_[id] = token;
  }
  std::optional<int> find(std::string_view token) const {
    auto it = ids_.find(std::string(token));
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  const std::string* token(int id) const {
    auto it = tokens_.find(id);
    return it == tokens_.end() ? nullptr : &it->second;
  }
  bool contains(std::string_view token) const { return ids_.count(std::string(token)) != 0; }
  // Distinct token strings, as tokenizers' get_vocab_size counts them.
  std::size_t size() const { return ids_.size(); }
  const std::unordered_map<std::string, int>& ids() const { return ids_; }

 private:
  std::unordered_map<std::string, int> ids_;
  std::unordered_map<int, std::string> tokens_;
};

// byte_fallback: the ids of the <0xXX> tokens of every byte of `text`, or nothing when the vocab
// lacks one of them (then the caller falls back to the unknown token).
inline std::optional<std::vector<int>> byte_fallback_ids(const Vocab& vocab, std::string_view text) {
  std::vector<int> ids;
  for (const unsigned char byte : text) {
    const char hex[] = "0123456789ABCDEF";
    const std::string name = std::string("<0x") + hex[byte >> 4] + hex[byte & 15] + ">";
    const auto id = vocab.find(name);
    if (!id) return std::nullopt;
    ids.push_back(*id);
  }
  return ids;
}

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of one word (never empty) to `out`.
  virtual void tokenize(std::string_view word, std::vector<int>& out) const = 0;
  virtual const Vocab& vocab() const = 0;
};

}  // namespace qkv::tokenize
