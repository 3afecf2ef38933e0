#pragma once
// The normalizers of tokenizer.json ("normalizer": {"type": ...}), each a string -> string map
// that gives the same text as Hugging Face `tokenizers` (offsets are not tracked).
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/base64.hpp"
#include "qkv/tokenize/byte_level.hpp"
#include "qkv/tokenize/patterns.hpp"
#include "qkv/tokenize/precompiled.hpp"
#include "qkv/tokenize/json_fields.hpp"
#include "qkv/tokenize/unicode.hpp"
#include "qkv/tokenize/utf8.hpp"

namespace qkv::tokenize {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual std::string normalize(std::string_view text) const = 0;
};

namespace normalizers {

// Keeps or rewrites each character: map(cp, out) appends its replacement.
template <class Map>
std::string map_chars(std::string_view text, Map map) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) map(next_code_point(text, pos), out);
  return out;
}

class Bert : public Normalizer {
 public:
  Bert(bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase)
      : clean_text_(clean_text), chinese_(handle_chinese_chars), strip_accents_(strip_accents), lowercase_(lowercase) {}

  std::string normalize(std::string_view text) const override {
    std::string s(text);
    if (clean_text_)
      s = map_chars(s, [](char32_t cp, std::string& out) {
        if (cp == 0 || cp == 0xFFFD || is_bert_control(cp)) return;
        append_utf8(out, is_bert_whitespace(cp) ? U' ' : cp);
      });
    if (chinese_)
      s = map_chars(s, [](char32_t cp, std::string& out) {
        if (is_chinese_char(cp)) out += ' ';
        append_utf8(out, cp);
        if (is_chinese_char(cp)) out += ' ';
      });
    if (strip_accents_) s = strip_nonspacing_marks(nfd(s));
    if (lowercase_) s = lowercase(s);
    return s;
  }

 private:
  bool clean_text_, chinese_, strip_accents_, lowercase_;
};

// Function-backed normalizers without parameters: Lowercase, NFC, ..., StripAccents.
class Function : public Normalizer {
 public:
  explicit Function(std::string (*f)(std::string_view)) : f_(f) {}
  std::string normalize(std::string_view text) const override { return f_(text); }

 private:
  std::string (*f_)(std::string_view);
};

class Replace : public Normalizer {
 public:
  Replace(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::string normalize(std::string_view text) const override {
    std::string out;
    std::size_t last = 0;
    for (const auto& [first, end] : pattern_.find_all(text)) {
      out.append(text.substr(last, first - last));
      out += content_;
      last = end;
    }
    out.append(text.substr(last));
    return out;
  }

 private:
  Pattern pattern_;
  std::string content_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string normalize(std::string_view text) const override {
    return text.empty() ? std::string() : prefix_ + std::string(text);
  }

 private:
  std::string prefix_;
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  std::string normalize(std::string_view text) const override {
    const auto cps = code_points(text);
    std::size_t first = 0, last = cps.size();
    if (left_)
      while (first < last && is_whitespace(cps[first])) ++first;
    if (right_)
      while (last > first && is_whitespace(cps[last - 1])) --last;
    return from_code_points(std::vector<char32_t>(cps.begin() + static_cast<std::ptrdiff_t>(first),
                                                  cps.begin() + static_cast<std::ptrdiff_t>(last)));
  }

 private:
  bool left_, right_;
};

class Precompiled : public Normalizer {
 public:
  explicit Precompiled(std::optional<PrecompiledCharsmap> charsmap) : charsmap_(std::move(charsmap)) {}
  std::string normalize(std::string_view text) const override {
    return charsmap_ ? charsmap_->normalize_like_tokenizers(text) : std::string(text);
  }

 private:
  std::optional<PrecompiledCharsmap> charsmap_;
};

// SentencePiece's "nmt" rule set without the charsmap: drop some controls, map others to a space.
class Nmt : public Normalizer {
 public:
  std::string normalize(std::string_view text) const override {
    return map_chars(text, [](char32_t cp, std::string& out) {
      if ((cp >= 0x1 && cp <= 0x8) || cp == 0xB || (cp >= 0xE && cp <= 0x1F) || cp == 0x7F || cp == 0x8F || cp == 0x9F)
        return;
      const bool space = cp == 0x9 || cp == 0xA || cp == 0xC || cp == 0xD || cp == 0x1680 || (cp >= 0x200B && cp <= 0x200F) ||
                         cp == 0x2028 || cp == 0x2029 || cp == 0x2581 || cp == 0xFEFF || cp == 0xFFFD;
      append_utf8(out, space ? U' ' : cp);
    });
  }
};

class ByteLevel : public Normalizer {
 public:
  std::string normalize(std::string_view text) const override {
    std::string out;
    for (unsigned char b : text) out += byte_to_unicode()[b];
    return out;
  }
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  std::string normalize(std::string_view text) const override {
    std::string s(text);
    for (const auto& step : steps_) s = step->normalize(s);
    return s;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

// {"String": s} or {"Regex": r}, shared by Replace and the Split pre-tokenizer.
inline Pattern pattern_from_spec(const nlohmann::json& spec, const std::string& where) {
  const auto& p = fields::required(spec, "pattern", where);
  if (p.is_object() && p.size() == 1 && p.begin().value().is_string()) {
    if (p.contains("String")) return Pattern::literal(p["String"].get<std::string>());
    if (p.contains("Regex")) return Pattern::regex(p["Regex"].get<std::string>(), where);
  }
  fail(where, ": field 'pattern' must be {\"String\": ...} or {\"Regex\": ...}");
}

}  // namespace normalizers

inline std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& spec, const std::string& where) {
  using namespace normalizers;
  const std::string type = fields::type_of(spec, where);
  if (type == "BertNormalizer") {
    const bool lower = fields::bool_or(spec, "lowercase", true, where);
    return std::make_unique<Bert>(fields::bool_or(spec, "clean_text", true, where),
                                  fields::bool_or(spec, "handle_chinese_chars", true, where),
                                  fields::bool_or(spec, "strip_accents", lower, where), lower);
  }
  if (type == "Lowercase") return std::make_unique<Function>(&lowercase);
  if (type == "NFC") return std::make_unique<Function>(&nfc);
  if (type == "NFD") return std::make_unique<Function>(&nfd);
  if (type == "NFKC") return std::make_unique<Function>(&nfkc);
  if (type == "NFKD") return std::make_unique<Function>(&nfkd);
  if (type == "StripAccents") return std::make_unique<Function>(&strip_accents);
  if (type == "Nmt") return std::make_unique<Nmt>();
  if (type == "ByteLevel") return std::make_unique<ByteLevel>();
  if (type == "Replace")
    return std::make_unique<Replace>(pattern_from_spec(spec, where), fields::string_field(spec, "content", where));
  if (type == "Prepend") return std::make_unique<Prepend>(fields::string_field(spec, "prepend", where));
  if (type == "Strip")
    return std::make_unique<Strip>(fields::bool_or(spec, "strip_left", true, where),
                                   fields::bool_or(spec, "strip_right", true, where));
  if (type == "Precompiled") {
    if (!fields::present(spec, "precompiled_charsmap")) return std::make_unique<Precompiled>(std::nullopt);
    const auto& map = spec.at("precompiled_charsmap");
    if (!map.is_string()) fail(where, ": field 'precompiled_charsmap' must be a base64 string");
    const std::string blob = base64_decode(map.get<std::string>(), where + ": precompiled_charsmap");
    if (blob.empty()) return std::make_unique<Precompiled>(std::nullopt);
    return std::make_unique<Precompiled>(PrecompiledCharsmap(blob, where + ": precompiled_charsmap"));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> steps;
    const auto& list = fields::array_field(spec, "normalizers", where);
    for (std::size_t i = 0; i < list.size(); ++i)
      steps.push_back(make_normalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]"));
    return std::make_unique<Sequence>(std::move(steps));
  }
  fail(where, ": unknown normalizer type '", type, "'");
}

}  // namespace qkv::tokenize
