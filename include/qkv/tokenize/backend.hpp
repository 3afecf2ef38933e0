#pragma once
// What qkv::Tokenizer delegates to: a tokenizer.json pipeline (hf_tokenizer.hpp) or a Marian
// SentencePiece pair (marian.hpp).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qkv::tokenize {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::vector<int> encode(std::string_view text, bool add_special_tokens) const = 0;
  virtual std::string decode(const std::vector<int>& ids, bool skip_special_tokens) const = 0;
  virtual const std::string* id_to_token(int id) const = 0;  // null when no token has the id
  virtual std::optional<int> token_to_id(std::string_view token) const = 0;
  virtual int vocab_size() const = 0;
};

}  // namespace qkv::tokenize
