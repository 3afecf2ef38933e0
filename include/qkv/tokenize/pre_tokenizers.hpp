#pragma once
// The pre-tokenizers of tokenizer.json ("pre_tokenizer": {"type": ...}): each cuts every piece of
// text into smaller pieces (and may rewrite them), as Hugging Face `tokenizers` does.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/byte_level.hpp"
#include "qkv/tokenize/normalizers.hpp"
#include "qkv/tokenize/patterns.hpp"
#include "qkv/tokenize/json_fields.hpp"
#include "qkv/tokenize/unicode.hpp"
#include "qkv/tokenize/utf8.hpp"

namespace qkv::tokenize {

// at_input_start: the piece begins at byte 0 of the user's text (Metaspace prepend_scheme "first").
struct PreToken {
  std::string text;
  bool at_input_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual std::vector<PreToken> split(std::vector<PreToken> pieces) const = 0;
};

// What happens to the matched delimiters (tokenizers' SplitDelimiterBehavior).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

namespace pre_tokenizers {

// Cuts text at `matches` (sorted, non-overlapping byte ranges): the result's non-empty ranges.
inline std::vector<ByteRange> split_ranges(std::size_t size, const std::vector<ByteRange>& matches,
                                           SplitBehavior behavior, bool invert) {
  // Every byte of the text, in order, as (range, is_match).
  std::vector<std::pair<ByteRange, bool>> parts;
  std::size_t last = 0;
  for (const auto& m : matches) {
    if (m.first > last) parts.push_back({{last, m.first}, invert});
    parts.push_back({m, !invert});
    last = m.second;
  }
  if (last < size) parts.push_back({{last, size}, invert});

  std::vector<ByteRange> out;
  switch (behavior) {
    case SplitBehavior::Removed:
      for (const auto& [r, is_match] : parts)
        if (!is_match) out.push_back(r);
      break;
    case SplitBehavior::Isolated:
      for (const auto& p : parts) out.push_back(p.first);
      break;
    case SplitBehavior::Contiguous: {
      bool previous = false;
      for (const auto& [r, is_match] : parts) {
        if (is_match == previous && !out.empty()) out.back().second = r.second;
        else out.push_back(r);
        previous = is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithPrevious: {
      bool previous = false;
      for (const auto& [r, is_match] : parts) {
        if (is_match && !previous && !out.empty()) out.back().second = r.second;
        else out.push_back(r);
        previous = is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      bool previous = false;
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->second && !previous && !out.empty()) out.back().first = it->first.first;
        else out.push_back(it->first);
        previous = it->second;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
  }
  std::vector<ByteRange> non_empty;
  for (const auto& r : out)
    if (r.second > r.first) non_empty.push_back(r);
  return non_empty;
}

// Each character for which pred holds is one match.
template <class Pred>
std::vector<ByteRange> char_matches(std::string_view text, Pred pred) {
  std::vector<ByteRange> out;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t start = pos;
    if (pred(next_code_point(text, pos))) out.emplace_back(start, pos);
  }
  return out;
}

inline void append_pieces(std::vector<PreToken>& out, const PreToken& piece, const std::vector<ByteRange>& ranges) {
  for (const auto& [first, end] : ranges)
    out.push_back({piece.text.substr(first, end - first), piece.at_input_start && first == 0});
}

// A pre-tokenizer that cuts each piece by matches found in it.
class Splitting : public PreTokenizer {
 public:
  std::vector<PreToken> split(std::vector<PreToken> pieces) const override {
    std::vector<PreToken> out;
    for (const auto& piece : pieces) append_pieces(out, piece, ranges(piece.text));
    return out;
  }
  virtual std::vector<ByteRange> ranges(std::string_view text) const = 0;
};

class Split : public Splitting {
 public:
  Split(Pattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  std::vector<ByteRange> ranges(std::string_view text) const override {
    return split_ranges(text.size(), pattern_.find_all(text), behavior_, invert_);
  }

 private:
  Pattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

// Splits where pred holds, one character at a time (WhitespaceSplit, Punctuation, Digits, ...).
template <class Pred>
class CharSplit : public Splitting {
 public:
  CharSplit(Pred pred, SplitBehavior behavior) : pred_(pred), behavior_(behavior) {}
  std::vector<ByteRange> ranges(std::string_view text) const override {
    return split_ranges(text.size(), char_matches(text, pred_), behavior_, false);
  }

 private:
  Pred pred_;
  SplitBehavior behavior_;
};

template <class Pred>
std::unique_ptr<PreTokenizer> char_split(Pred pred, SplitBehavior behavior) {
  return std::make_unique<CharSplit<Pred>>(pred, behavior);
}

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex), gpt2_(Pattern::regex(std::string(kGpt2Pattern), "")) {}
  std::vector<PreToken> split(std::vector<PreToken> pieces) const override {
    std::vector<PreToken> out;
    for (auto& piece : pieces) {
      if (piece.text.empty()) continue;  // nothing to prefix: tokenizers' prepend ignores empty text
      if (add_prefix_space_ && piece.text[0] != ' ') piece.text.insert(0, 1, ' ');
      if (use_regex_) append_pieces(out, piece, split_ranges(piece.text.size(), gpt2_.find_all(piece.text), SplitBehavior::Isolated, false));
      else out.push_back(piece);
    }
    for (auto& piece : out) {
      std::string mapped;
      for (unsigned char b : piece.text) mapped += byte_to_unicode()[b];
      piece.text = std::move(mapped);
    }
    return out;
  }

 private:
  bool add_prefix_space_, use_regex_;
  Pattern gpt2_;
};

enum class PrependScheme { Always, First, Never };

class Metaspace : public PreTokenizer {
 public:
  Metaspace(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  std::vector<PreToken> split(std::vector<PreToken> pieces) const override {
    std::vector<PreToken> out;
    for (auto& piece : pieces) {
      if (piece.text.empty()) continue;
      std::string text;
      for (char c : piece.text) {
        if (c == ' ') text += replacement_;
        else text += c;
      }
      const bool starts = text.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && piece.at_input_start)))
        text.insert(0, replacement_);
      const PreToken rewritten{std::move(text), piece.at_input_start};
      if (split_)
        append_pieces(out, rewritten, split_ranges(rewritten.text.size(), Pattern::literal(replacement_).find_all(rewritten.text),
                                                   SplitBehavior::MergedWithNext, false));
      else
        out.push_back(rewritten);
    }
    return out;
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  std::vector<PreToken> split(std::vector<PreToken> pieces) const override {
    for (const auto& step : steps_) pieces = step->split(std::move(pieces));
    return pieces;
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

inline SplitBehavior behavior_from_spec(const nlohmann::json& spec, const std::string& where, const char* fallback) {
  const auto it = spec.find("behavior");
  const std::string name = it == spec.end() || it->is_null() ? fallback : fields::string_field(spec, "behavior", where);
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  fail(where, ": unknown split behavior '", name, "'");
}

// A field holding exactly one character (Metaspace replacement, CharDelimiterSplit delimiter).
inline std::string char_field(const nlohmann::json& spec, const char* key, const std::string& where) {
  const std::string s = fields::string_field(spec, key, where);
  if (!is_valid_utf8(s) || code_points(s).size() != 1) fail(where, ": field '", key, "' must be one character");
  return s;
}

}  // namespace pre_tokenizers

inline std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec, const std::string& where) {
  using namespace pre_tokenizers;
  const std::string type = fields::type_of(spec, where);
  if (type == "ByteLevel")
    return std::make_unique<ByteLevel>(fields::bool_or(spec, "add_prefix_space", true, where),
                                       fields::bool_or(spec, "use_regex", true, where));
  if (type == "Split")
    return std::make_unique<Split>(normalizers::pattern_from_spec(spec, where),
                                   behavior_from_spec(spec, where, "Removed"), fields::bool_or(spec, "invert", false, where));
  if (type == "Whitespace")
    return std::make_unique<Split>(Pattern::regex(std::string(kWhitespacePattern), where), SplitBehavior::Removed, true);
  if (type == "WhitespaceSplit") return char_split([](char32_t cp) { return is_whitespace(cp); }, SplitBehavior::Removed);
  if (type == "CharDelimiterSplit") {
    const char32_t delimiter = code_points(char_field(spec, "delimiter", where))[0];
    return char_split([delimiter](char32_t cp) { return cp == delimiter; }, SplitBehavior::Removed);
  }
  if (type == "Punctuation")
    return char_split([](char32_t cp) { return is_bert_punctuation(cp); }, behavior_from_spec(spec, where, "Isolated"));
  if (type == "Digits")
    return char_split([](char32_t cp) { return is_numeric(cp); },
                      fields::bool_or(spec, "individual_digits", false, where) ? SplitBehavior::Isolated
                                                                                : SplitBehavior::Contiguous);
  if (type == "BertPreTokenizer") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    steps.push_back(char_split([](char32_t cp) { return is_whitespace(cp); }, SplitBehavior::Removed));
    steps.push_back(char_split([](char32_t cp) { return is_bert_punctuation(cp); }, SplitBehavior::Isolated));
    return std::make_unique<Sequence>(std::move(steps));
  }
  if (type == "Metaspace") {
    // The legacy add_prefix_space may accompany prepend_scheme but must agree with it.
    PrependScheme scheme = PrependScheme::Always;
    if (spec.contains("prepend_scheme") && !spec["prepend_scheme"].is_null()) {
      const std::string name = fields::string_field(spec, "prepend_scheme", where);
      if (name == "always") scheme = PrependScheme::Always;
      else if (name == "first") scheme = PrependScheme::First;
      else if (name == "never") scheme = PrependScheme::Never;
      else fail(where, ": unknown prepend_scheme '", name, "'");
    }
    if (!fields::bool_or(spec, "add_prefix_space", true, where) && scheme != PrependScheme::Never)
      fail(where, ": add_prefix_space false contradicts prepend_scheme (give prepend_scheme \"never\")");
    const std::string replacement = char_field(spec, "replacement", where);
    return std::make_unique<Metaspace>(replacement, scheme, fields::bool_or(spec, "split", true, where));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    const auto& list = fields::array_field(spec, "pretokenizers", where);
    for (std::size_t i = 0; i < list.size(); ++i)
      steps.push_back(make_pre_tokenizer(list[i], where + ".pretokenizers[" + std::to_string(i) + "]"));
    return std::make_unique<Sequence>(std::move(steps));
  }
  fail(where, ": unknown pre-tokenizer type '", type, "'");
}

}  // namespace qkv::tokenize
