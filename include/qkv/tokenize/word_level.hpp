#pragma once
// WordLevel: each word is one vocab entry, or the unknown token.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/model.hpp"
#include "qkv/tokenize/json_fields.hpp"

namespace qkv::tokenize {

class WordLevelModel : public Model {
 public:
  WordLevelModel(const nlohmann::json& spec, const std::string& where) {
    unk_token_ = fields::string_or(spec, "unk_token", "<unk>", where);
    const auto& vocab = fields::required(spec, "vocab", where);
    if (!vocab.is_object()) fail(where, ": 'vocab' must be an object of token -> id");
    for (const auto& [token, id] : vocab.items()) vocab_.add(token, fields::index_of(id, where, "vocab"));
  }
  const Vocab& vocab() const override { return vocab_; }
  void tokenize(std::string_view word, std::vector<int>& out) const override {
    auto id = vocab_.find(word);
    if (!id) id = vocab_.find(unk_token_);
    if (!id) fail("WordLevel model: unk_token \"", unk_token_, "\" is not in the vocab");
    out.push_back(*id);
  }

 private:
  Vocab vocab_;
  std::string unk_token_;
};

}  // namespace qkv::tokenize
