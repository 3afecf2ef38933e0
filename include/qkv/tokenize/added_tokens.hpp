#pragma once
// Added tokens (tokenizer.json "added_tokens"), found in the text before the model runs, as
// tokenizers' AddedVocabulary does: tokens with normalized=false are matched on the raw text
// first (leftmost-longest), then each remaining segment is normalized and the normalized=true
// tokens are matched on it. lstrip/rstrip make a match swallow adjacent whitespace; single_word
// drops a match touching a word character.
#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/model.hpp"
#include "qkv/tokenize/normalizers.hpp"
#include "qkv/tokenize/piece_trie.hpp"
#include "qkv/tokenize/unicode.hpp"
#include "qkv/tokenize/json_fields.hpp"
#include "qkv/tokenize/utf8.hpp"

namespace qkv::tokenize {

struct AddedToken {
  std::string content;
  bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
  bool operator==(const AddedToken& o) const {
    return content == o.content && single_word == o.single_word && lstrip == o.lstrip && rstrip == o.rstrip &&
           normalized == o.normalized && special == o.special;
  }
};

// A piece of the input after added-token extraction: either an added token's id, or text
// (normalized) for the pre-tokenizer and model.
struct Segment {
  std::string text;
  std::optional<int> id;
  bool at_input_start = false;  // begins at byte 0 of the user's text
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;

  // `model` gives ids to tokens it already has; `normalizer` (may be null) normalizes the
  // patterns of normalized tokens. The ids written in the file are not used: like tokenizers,
  // a token takes the id its content already has, else the next free one.
  AddedVocabulary(const nlohmann::json& list, const Vocab& model, const Normalizer* normalizer,
                  const std::string& where) {
    if (list.is_null()) return;
    if (!list.is_array()) fail(where, ": 'added_tokens' must be an array");
    std::vector<AddedToken> tokens;
    for (const auto& entry : list) {
      std::string at = where + ": added token";
      AddedToken t;
      t.content = fields::string_field(entry, "content", at);
      t.single_word = fields::bool_or(entry, "single_word", false, at);
      t.lstrip = fields::bool_or(entry, "lstrip", false, at);
      t.rstrip = fields::bool_or(entry, "rstrip", false, at);
      t.special = fields::bool_or(entry, "special", false, at);
      t.normalized = fields::bool_or(entry, "normalized", !t.special, at);
      tokens.push_back(std::move(t));
    }
    add(tokens, model, normalizer);
  }

  std::optional<int> token_to_id(std::string_view token, const Vocab& model) const {
    auto it = ids_.find(std::string(token));
    if (it != ids_.end()) return it->second;
    return model.find(token);
  }
  const std::string* id_to_token(int id, const Vocab& model) const {
    auto it = by_id_.find(id);
    return it != by_id_.end() ? &it->second.content : model.token(id);
  }
  bool is_special(const std::string& token) const { return special_set_.count(token) != 0; }
  const std::unordered_map<std::string, int>& ids() const { return ids_; }

  std::vector<Segment> extract_and_normalize(std::string_view text, const Normalizer* normalizer) const {
    std::vector<Segment> out;
    for (Segment& raw : split(std::string(text), raw_, true)) {
      if (raw.id || raw.text.empty()) {
        out.push_back(std::move(raw));
        continue;
      }
      std::string normalized = normalizer ? normalizer->normalize(raw.text) : raw.text;
      for (Segment& piece : split(std::move(normalized), normalized_, raw.at_input_start))
        out.push_back(std::move(piece));
    }
    return out;
  }

 private:
  struct Matcher {
    PieceTrie trie;
    std::vector<int> ids;  // trie value -> token id
  };

  void add(const std::vector<AddedToken>& tokens, const Vocab& model, const Normalizer* normalizer) {
    std::vector<AddedToken> specials, plain;
    for (const AddedToken& t : tokens)
      if (t.special && !t.content.empty() && special_set_.insert(t.content).second) specials.push_back(t);
    for (const AddedToken& t : tokens) {
      if (t.content.empty() || already_added(t)) continue;
      std::optional<int> id = token_to_id(t.content, model);
      if (!id) id = next_id(model);
      ids_[t.content] = *id;
      by_id_[*id] = t;
      if (!special_set_.count(t.content)) plain.push_back(t);
    }
    // Specials first, then the others, each in file order: the order tokenizers builds its tries in.
    for (const auto* group : {&specials, &plain}) {
      for (const AddedToken& t : *group) {
        int id = *token_to_id(t.content, model);
        Matcher& m = t.normalized ? normalized_ : raw_;
        std::string pattern = t.normalized && normalizer ? normalizer->normalize(t.content) : t.content;
        if (pattern.empty()) continue;
        m.trie.insert(pattern, static_cast<int>(m.ids.size()), /*replace=*/false);
        m.ids.push_back(id);
      }
    }
  }

  bool already_added(const AddedToken& t) const {
    for (const auto& entry : by_id_)
      if (entry.second == t) return true;
    return false;
  }

  int next_id(const Vocab& model) const {
    int model_size = static_cast<int>(model.size());
    if (ids_.empty()) return model_size;
    int max = 0;
    for (const auto& entry : ids_) max = std::max(max, entry.second);
    return (max >= model_size || model_size == 0) ? max + 1 : model_size;
  }

  // Leftmost-longest match at or after `from`: {start, length, trie value}.
  static std::optional<std::array<std::size_t, 3>> find(const Matcher& m, std::string_view s, std::size_t from) {
    for (std::size_t start = from; start < s.size(); ++start) {
      std::size_t best_len = 0, best_value = 0;
      m.trie.prefixes(s, start, [&](std::size_t length, int value) {
        best_len = length;  // prefixes come shortest first
        best_value = static_cast<std::size_t>(value);
      });
      if (best_len != 0) return std::array<std::size_t, 3>{start, best_len, best_value};
    }
    return std::nullopt;
  }

  std::vector<Segment> split(std::string text, const Matcher& m, bool at_input_start) const {
    std::vector<Segment> out;
    auto emit = [&](std::size_t begin, std::size_t end, std::optional<int> id) {
      if (begin < end) out.push_back(Segment{text.substr(begin, end - begin), id, at_input_start && begin == 0});
    };
    std::size_t done = 0, search = 0;
    while (auto match = find(m, text, search)) {
      std::size_t start = (*match)[0], stop = start + (*match)[1];
      search = stop;  // like aho-corasick's iterator, a dropped match is not searched again
      int id = m.ids[(*match)[2]];
      const AddedToken& token = by_id_.at(id);
      std::string_view view(text);
      if (token.single_word && (ends_with_word(view.substr(0, start)) || starts_with_word(view.substr(stop))))
        continue;
      if (token.lstrip) start = std::max(trailing_space_start(view.substr(0, start)), done);
      if (token.rstrip) stop += leading_space_length(view.substr(stop));
      emit(done, start, std::nullopt);
      emit(start, stop, id);
      done = stop;
    }
    emit(done, text.size(), std::nullopt);
    return out;
  }

  static bool ends_with_word(std::string_view s) {
    if (s.empty()) return false;
    std::size_t pos = s.size() - 1;
    while (pos > 0 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
    return is_word(next_code_point(s, pos));
  }
  static bool starts_with_word(std::string_view s) {
    std::size_t pos = 0;
    return !s.empty() && is_word(next_code_point(s, pos));
  }
  static std::size_t leading_space_length(std::string_view s) {
    std::size_t pos = 0, end = 0;
    while (pos < s.size() && is_whitespace(next_code_point(s, pos))) end = pos;
    return end;
  }
  static std::size_t trailing_space_start(std::string_view s) {
    std::size_t start = s.size();
    while (start > 0) {
      std::size_t pos = start - 1;
      while (pos > 0 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
      std::size_t probe = pos;
      if (!is_whitespace(next_code_point(s, probe))) break;
      start = pos;
    }
    return start;
  }

  std::unordered_map<std::string, int> ids_;
  std::unordered_map<int, AddedToken> by_id_;
  std::unordered_set<std::string> special_set_;
  Matcher raw_, normalized_;
};

}  // namespace qkv::tokenize
