#pragma once
// The split patterns of tokenizer.json without a regex engine. `tokenizers` runs patterns through
// oniguruma; the patterns real tokenizers use are few, so each is a hand-written matcher that
// gives the same leftmost-first matches: GPT-2's, LLaMA-3/cl100k's, Qwen2's, and `Whitespace`'s,
// plus literal strings and one-atom patterns such as " {2,}" or "\s+". Anything else is refused.
#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/unicode.hpp"
#include "qkv/tokenize/utf8.hpp"

namespace qkv::tokenize {

using ByteRange = std::pair<std::size_t, std::size_t>;  // [first, second) in bytes

inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
inline constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
inline constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
inline constexpr std::string_view kWhitespacePattern = R"(\w+|[^\w\s]+)";

class Pattern {
 public:
  // A literal string (tokenizer.json {"String": ...}).
  static Pattern literal(std::string text) {
    Pattern p;
    p.kind_ = Kind::Literal;
    p.literal_ = std::move(text);
    return p;
  }

  // A regex ({"Regex": ...}); unsupported -> qkv::Error naming the pattern and `where`.
  static Pattern regex(const std::string& pattern, const std::string& where) {
    Pattern p;
    if (pattern == kGpt2Pattern) p.kind_ = Kind::Gpt2;
    else if (pattern == kLlama3Pattern) p.kind_ = Kind::Llama3;
    else if (pattern == kQwen2Pattern) p.kind_ = Kind::Qwen2;
    else if (pattern == kWhitespacePattern) p.kind_ = Kind::Whitespace;
    else if (std::string text; unescape_literal(pattern, text)) return literal(std::move(text));
    else if (p.parse_repeat(pattern)) p.kind_ = Kind::Repeat;
    else fail(where, ": unsupported regex pattern '", pattern, "' (qkv matches only the patterns of known tokenizers)");
    return p;
  }

  // Non-overlapping matches, left to right, in bytes.
  std::vector<ByteRange> find_all(std::string_view text) const {
    std::vector<ByteRange> out;
    if (kind_ == Kind::Literal) {
      if (literal_.empty()) return out;
      for (std::size_t at = text.find(literal_); at != std::string_view::npos; at = text.find(literal_, at + literal_.size()))
        out.emplace_back(at, at + literal_.size());
      return out;
    }
    Cursor c(text);
    for (std::size_t i = 0; i < c.size();) {
      const std::size_t end = match_at(c, i);
      if (end > i) {
        out.emplace_back(c.byte(i), c.byte(end));
        i = end;
      } else {
        ++i;
      }
    }
    return out;
  }

 private:
  enum class Kind { Literal, Gpt2, Llama3, Qwen2, Whitespace, Repeat };
  enum class Atom { Char, Space, NotSpace, Digit, Word, Letter, Number };

  // Code points with their byte offsets.
  struct Cursor {
    explicit Cursor(std::string_view text) {
      for (std::size_t pos = 0; pos < text.size();) {
        offsets.push_back(pos);
        cps.push_back(next_code_point(text, pos));
      }
      offsets.push_back(text.size());
    }
    std::size_t size() const { return cps.size(); }
    std::size_t byte(std::size_t i) const { return offsets[i]; }
    char32_t at(std::size_t i) const { return i < cps.size() ? cps[i] : 0xFFFFFFFF; }
    std::vector<char32_t> cps;
    std::vector<std::size_t> offsets;
  };

  // Pattern text that is a plain literal once escapes are resolved ("\n", "\\.", "abc").
  static bool unescape_literal(const std::string& pattern, std::string& text) {
    if (pattern.empty()) return false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      char c = pattern[i];
      if (std::string_view("[](){}?*+|^$.").find(c) != std::string_view::npos) return false;
      if (c == '\\') {
        if (++i == pattern.size()) return false;
        c = pattern[i];
        if (c == 'n') c = '\n';
        else if (c == 't') c = '\t';
        else if (c == 'r') c = '\r';
        else if (std::isalnum(static_cast<unsigned char>(c))) return false;  // a class such as \s
      }
      text += c;
    }
    return true;
  }

  // ATOM followed by +, {n,}, {n} or {n,m} with n >= 1 (never an empty match).
  bool parse_repeat(const std::string& pattern) {
    std::size_t i = 0;
    if (pattern.compare(0, 5, "\\p{L}") == 0) atom_ = Atom::Letter, i = 5;
    else if (pattern.compare(0, 5, "\\p{N}") == 0) atom_ = Atom::Number, i = 5;
    else if (pattern.compare(0, 2, "\\s") == 0) atom_ = Atom::Space, i = 2;
    else if (pattern.compare(0, 2, "\\S") == 0) atom_ = Atom::NotSpace, i = 2;
    else if (pattern.compare(0, 2, "\\d") == 0) atom_ = Atom::Digit, i = 2;
    else if (pattern.compare(0, 2, "\\w") == 0) atom_ = Atom::Word, i = 2;
    else if (std::string t; !pattern.empty() && pattern[0] == '\\' && pattern.size() >= 2 && unescape_literal(pattern.substr(0, 2), t))
      atom_ = Atom::Char, char_ = static_cast<unsigned char>(t[0]), i = 2;
    else if (!pattern.empty() && std::string_view("[](){}?*+|^$.\\").find(pattern[0]) == std::string_view::npos) {
      std::size_t pos = 0;
      atom_ = Atom::Char;
      char_ = next_code_point(pattern, pos);
      i = pos;
    } else return false;
    const std::string q = pattern.substr(i);
    if (q.empty()) min_ = max_ = 1;
    else if (q == "+") min_ = 1, max_ = static_cast<std::size_t>(-1);
    else if (q.size() >= 3 && q.front() == '{' && q.back() == '}') {
      const std::string inner = q.substr(1, q.size() - 2);
      const std::size_t comma = inner.find(',');
      const auto number = [](const std::string& s, std::size_t& v) {
        if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 6) return false;
        v = std::stoul(s);
        return true;
      };
      if (comma == std::string::npos) {
        if (!number(inner, min_)) return false;
        max_ = min_;
      } else {
        if (!number(inner.substr(0, comma), min_)) return false;
        if (comma + 1 == inner.size()) max_ = static_cast<std::size_t>(-1);
        else if (!number(inner.substr(comma + 1), max_) || max_ < min_) return false;
      }
    } else return false;
    return min_ >= 1;
  }

  bool atom_matches(char32_t cp) const {
    if (cp == 0xFFFFFFFF) return false;
    switch (atom_) {
      case Atom::Char: return cp == char_;
      case Atom::Space: return is_whitespace(cp);
      case Atom::NotSpace: return !is_whitespace(cp);
      case Atom::Digit: return general_category(cp) == GeneralCategory::Nd;
      case Atom::Word: return is_word(cp);
      case Atom::Letter: return is_letter(cp);
      case Atom::Number: return is_number(cp);
    }
    return false;
  }

  static bool is_other(char32_t cp) { return cp != 0xFFFFFFFF && !is_whitespace(cp) && !is_letter(cp) && !is_number(cp); }
  static bool is_space(char32_t cp) { return cp != 0xFFFFFFFF && is_whitespace(cp); }
  static bool is_crlf(char32_t cp) { return cp == '\r' || cp == '\n'; }

  template <class Pred>
  static std::size_t run(const Cursor& c, std::size_t i, Pred pred) {
    while (i < c.size() && pred(c.at(i))) ++i;
    return i;
  }

  // 's|'t|'re|'ve|'m|'ll|'d, optionally ignoring case: end index or i.
  static std::size_t contraction(const Cursor& c, std::size_t i, bool ignore_case) {
    if (c.at(i) != '\'') return i;
    const auto is = [&](std::size_t k, char lower) {
      char32_t cp = c.at(k);
      if (ignore_case) {
        if (cp >= 'A' && cp <= 'Z') cp += 32;
        if (cp == 0x17F) cp = 's';  // LATIN SMALL LETTER LONG S case-folds to s
      }
      return cp == static_cast<char32_t>(lower);
    };
    if (is(i + 1, 's') || is(i + 1, 't') || is(i + 1, 'm') || is(i + 1, 'd')) return i + 2;
    if ((is(i + 1, 'r') || is(i + 1, 'v')) && is(i + 2, 'e')) return i + 3;
    if (is(i + 1, 'l') && is(i + 2, 'l')) return i + 3;
    return i;
  }

  // \s+(?!\S) then \s+: the whitespace run, minus its last character when a non-space follows.
  static std::size_t trailing_space(const Cursor& c, std::size_t i) {
    const std::size_t end = run(c, i, is_space);
    if (end == i) return i;
    if (end == c.size() || end - i == 1) return end;
    return end - 1;
  }

  std::size_t match_at(const Cursor& c, std::size_t i) const {
    switch (kind_) {
      case Kind::Gpt2: {
        if (std::size_t e = contraction(c, i, false); e > i) return e;
        const std::size_t s = c.at(i) == ' ' ? i + 1 : i;
        for (auto pred : {+[](char32_t cp) { return cp != 0xFFFFFFFF && is_letter(cp); },
                          +[](char32_t cp) { return cp != 0xFFFFFFFF && is_number(cp); }, &is_other}) {
          if (pred(c.at(s))) return run(c, s, pred);
          if (s != i && pred(c.at(i))) return run(c, i, pred);
        }
        return trailing_space(c, i);
      }
      case Kind::Llama3:
      case Kind::Qwen2: {
        if (std::size_t e = contraction(c, i, true); e > i) return e;
        const auto letter = [](char32_t cp) { return cp != 0xFFFFFFFF && is_letter(cp); };
        const auto number = [](char32_t cp) { return cp != 0xFFFFFFFF && is_number(cp); };
        const char32_t first = c.at(i);
        if (first != 0xFFFFFFFF && !is_crlf(first) && !letter(first) && !number(first) && letter(c.at(i + 1)))
          return run(c, i + 1, letter);
        if (letter(first)) return run(c, i, letter);
        if (number(first)) {
          std::size_t e = i + 1;
          if (kind_ == Kind::Llama3)
            while (e < i + 3 && number(c.at(e))) ++e;
          return e;
        }
        const std::size_t s = first == ' ' && is_other(c.at(i + 1)) ? i + 1 : i;
        if (is_other(c.at(s))) return run(c, run(c, s, is_other), is_crlf);
        const std::size_t space_end = run(c, i, is_space);
        for (std::size_t k = space_end; k > i; --k)
          if (is_crlf(c.at(k - 1))) return k;
        return trailing_space(c, i);
      }
      case Kind::Whitespace: {
        const auto word = [](char32_t cp) { return cp != 0xFFFFFFFF && is_word(cp); };
        const auto other = [](char32_t cp) { return cp != 0xFFFFFFFF && !is_word(cp) && !is_whitespace(cp); };
        if (word(c.at(i))) return run(c, i, word);
        return run(c, i, other);
      }
      case Kind::Repeat: {
        std::size_t e = i;
        while (e - i < max_ && atom_matches(c.at(e))) ++e;
        return e - i >= min_ ? e : i;
      }
      case Kind::Literal: break;
    }
    return i;
  }

  Kind kind_ = Kind::Literal;
  std::string literal_;
  Atom atom_ = Atom::Char;
  char32_t char_ = 0;
  std::size_t min_ = 1, max_ = 1;
};

}  // namespace qkv::tokenize
