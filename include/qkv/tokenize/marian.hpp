#pragma once
// A Marian checkpoint's tokenizer (source.spm, target.spm, vocab.json), run as transformers'
// MarianTokenizer does: the special tokens </s>, <unk>, <pad> in the text stay whole; a leading
// ">>lang<<" code becomes its own token and every ">>...<<" is removed; the rest is split by
// source.spm; pieces map through vocab.json (unknown -> <unk>); </s> ends the sequence.
// Decoding maps ids back through vocab.json, keeps special tokens verbatim (each followed by a
// space) or drops them, joins the other runs with target.spm, turns "▁" into spaces and strips.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/backend.hpp"
#include "qkv/tokenize/unicode.hpp"
#include "qkv/tokenize/sentencepiece.hpp"
#include "qkv/tokenize/json_fields.hpp"
#include "qkv/tokenize/utf8.hpp"

namespace qkv::tokenize {

class MarianTokenizer : public Backend {
 public:
  explicit MarianTokenizer(const std::string& dir)
      : source_(SentencePieceProcessor::load((std::filesystem::path(dir) / "source.spm").string())),
        target_(SentencePieceProcessor::load((std::filesystem::path(dir) / "target.spm").string())) {
    std::string path = (std::filesystem::path(dir) / "vocab.json").string();
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot open ", path);
    std::ostringstream text;
    text << in.rdbuf();
    nlohmann::json vocab = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (vocab.is_discarded() || !vocab.is_object()) fail(path, ": expected a JSON object of token -> id");
    for (const auto& [token, id] : vocab.items()) {
      int value = fields::index_of(id, path, token.c_str());
      ids_[token] = value;
      tokens_[value] = token;
    }
    for (const char* special : {"</s>", "<unk>", "<pad>"}) {
      auto it = ids_.find(special);
      if (it == ids_.end()) fail(path, ": the vocab has no ", special);
      special_ids_.insert(it->second);
    }
  }

  std::vector<int> encode(std::string_view input, bool add_special_tokens) const override {
    std::string text = to_valid_utf8(input);
    std::vector<int> ids;
    std::size_t done = 0;
    while (done <= text.size()) {
      auto [start, special] = next_special(text, done);
      encode_chunk(std::string_view(text).substr(done, start - done), ids);
      if (special.empty()) break;
      ids.push_back(ids_.at(std::string(special)));
      done = start + special.size();
    }
    if (add_special_tokens) ids.push_back(ids_.at("</s>"));
    return ids;
  }

  std::string decode(const std::vector<int>& ids, bool skip_special_tokens) const override {
    std::string out;
    std::vector<std::string> run;
    for (int id : ids) {
      if (skip_special_tokens && special_ids_.count(id)) continue;
      auto it = tokens_.find(id);
      const std::string token = it == tokens_.end() ? "<unk>" : it->second;
      if (token == "</s>" || token == "<unk>" || token == "<pad>") {
        out += target_.decode_pieces(run) + token + " ";
        run.clear();
      } else {
        run.push_back(token);
      }
    }
    out += target_.decode_pieces(run);
    return strip(replace_spaces(out));
  }

  const std::string* id_to_token(int id) const override {
    auto it = tokens_.find(id);
    return it == tokens_.end() ? nullptr : &it->second;
  }
  std::optional<int> token_to_id(std::string_view token) const override {
    auto it = ids_.find(std::string(token));
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  int vocab_size() const override { return static_cast<int>(ids_.size()); }

 private:
  // The leftmost special token at or after `from` (the longest if several start there), or
  // {text.size(), ""}.
  static std::pair<std::size_t, std::string_view> next_special(std::string_view text, std::size_t from) {
    for (std::size_t i = from; i < text.size(); ++i)
      for (std::string_view s : {"</s>", "<unk>", "<pad>"})
        if (text.compare(i, s.size(), s) == 0) return {i, s};
    return {text.size(), {}};
  }

  // transformers' ">>.+<<" regex (greedy, no newlines): the match starting at `at`, or 0.
  static std::size_t language_code_length(std::string_view text, std::size_t at) {
    if (text.compare(at, 2, ">>") != 0) return 0;
    std::size_t line_end = text.find('\n', at + 2);
    if (line_end == std::string_view::npos) line_end = text.size();
    if (line_end < at + 5) return 0;
    std::size_t close = text.rfind("<<", line_end - 2);
    return close != std::string_view::npos && close >= at + 3 ? close + 2 - at : 0;
  }

  void encode_chunk(std::string_view chunk, std::vector<int>& ids) const {
    std::string rest;
    for (std::size_t i = 0; i < chunk.size();) {
      if (std::size_t n = language_code_length(chunk, i)) {
        if (i == 0) ids.push_back(lookup(chunk.substr(0, n)));
        i += n;
      } else {
        rest += chunk[i++];
      }
    }
    for (const std::string& piece : source_.encode_as_pieces(rest)) ids.push_back(lookup(piece));
  }

  int lookup(std::string_view piece) const {
    auto it = ids_.find(std::string(piece));
    return it != ids_.end() ? it->second : ids_.at("<unk>");
  }

  static std::string replace_spaces(const std::string& s) {
    std::string out;
    for (std::size_t pos = 0; pos < s.size();) {
      if (s.compare(pos, 3, "\xE2\x96\x81") == 0) out += ' ', pos += 3;
      else out += s[pos++];
    }
    return out;
  }

  // Python's str.strip(): White_Space plus the information separators U+001C..U+001F.
  static std::string strip(const std::string& s) {
    auto is_space = [](char32_t c) { return is_whitespace(c) || (c >= 0x1C && c <= 0x1F); };
    std::vector<char32_t> cps = code_points(s);
    std::size_t begin = 0, end = cps.size();
    while (begin < end && is_space(cps[begin])) ++begin;
    while (end > begin && is_space(cps[end - 1])) --end;
    std::string out;
    for (std::size_t i = begin; i < end; ++i) append_utf8(out, cps[i]);
    return out;
  }

  SentencePieceProcessor source_, target_;
  std::unordered_map<std::string, int> ids_;
  std::unordered_map<int, std::string> tokens_;
  std::unordered_set<int> special_ids_;
};

}  // namespace qkv::tokenize
