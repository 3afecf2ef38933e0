#pragma once
// qkv::Tokenizer: text <-> token ids exactly as Hugging Face tokenizers does it for a
// tokenizer.json, or as transformers' MarianTokenizer does for a Marian folder (source.spm,
// target.spm, vocab.json). Immutable once loaded; copies share the loaded tables.
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/backend.hpp"
#include "qkv/tokenize/hf_tokenizer.hpp"
#include "qkv/tokenize/marian.hpp"

namespace qkv {

class Tokenizer {
 public:
  // A folder (tokenizer.json, or a Marian folder with source.spm, target.spm and vocab.json) or
  // the path of a tokenizer.json.
  static Tokenizer load(const std::string& path) {
    namespace fs = std::filesystem;
    if (!fs::is_directory(path)) return from_json(read_file(path), path);
    fs::path dir(path);
    if (fs::exists(dir / "tokenizer.json")) return load((dir / "tokenizer.json").string());
    if (fs::exists(dir / "source.spm")) return Tokenizer(std::make_shared<tokenize::MarianTokenizer>(path));
    fail(path, ": expected a tokenizer.json, or source.spm, target.spm and vocab.json, in this folder");
  }

  // `where` names the text's origin in error messages.
  static Tokenizer from_json(const std::string& json_text, const std::string& where) {
    nlohmann::json spec = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (spec.is_discarded()) fail(where, ": not valid JSON");
    return Tokenizer(std::make_shared<tokenize::HfTokenizer>(spec, where));
  }

  // Invalid UTF-8 in `text` is first replaced by U+FFFD.
  std::vector<int> encode(std::string_view text, bool add_special_tokens = true) const {
    return backend_->encode(text, add_special_tokens);
  }
  // An id that names no token is skipped when it lies inside [0, vocab_size()) (a hole in a
  // vocab.json, as tokenizers skips it) and a qkv::Error otherwise.
  std::string decode(const std::vector<int>& ids, bool skip_special_tokens = false) const {
    for (const int id : ids)
      if ((id < 0 || id >= vocab_size()) && !backend_->id_to_token(id))
        fail("Tokenizer::decode: token id ", id, " is outside the vocabulary (", vocab_size(), " tokens)");
    return backend_->decode(ids, skip_special_tokens);
  }
  std::string id_to_token(int id) const {
    const std::string* token = backend_->id_to_token(id);
    if (!token) fail("Tokenizer::id_to_token: no token has id ", id, " (vocab size ", vocab_size(), ")");
    return *token;
  }
  std::optional<int> token_to_id(std::string_view token) const { return backend_->token_to_id(token); }
  // Including added tokens.
  int vocab_size() const { return backend_->vocab_size(); }

 private:
  explicit Tokenizer(std::shared_ptr<const tokenize::Backend> backend) : backend_(std::move(backend)) {}

  static std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot open ", path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::shared_ptr<const tokenize::Backend> backend_;
};

}  // namespace qkv
