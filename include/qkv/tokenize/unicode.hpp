#pragma once
// Unicode properties and algorithms the normalizers and pre-tokenizers need, over the generated
// tables of unicode_tables.hpp. Each predicate says whose definition it follows: Hugging Face
// `tokenizers` mixes Rust's std (current Unicode), the oniguruma regex classes and older crates.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qkv/tokenize/unicode_tables.hpp"
#include "qkv/tokenize/utf8.hpp"

namespace qkv::tokenize {

using tables::GeneralCategory;
using tables::GraphemeBreak;

namespace detail {
template <std::size_t N>
std::uint8_t run_value(const std::uint32_t (&runs)[N], char32_t cp) {
  // The last run whose first code point is <= cp.
  const auto it = std::upper_bound(std::begin(runs), std::end(runs), static_cast<std::uint32_t>(cp) << 8 | 0xFF);
  return static_cast<std::uint8_t>(*(it - 1) & 0xFF);
}

template <std::size_t N>
bool in_set(const std::uint32_t (&flips)[N], char32_t cp) {
  return (std::upper_bound(std::begin(flips), std::end(flips), static_cast<std::uint32_t>(cp)) - std::begin(flips)) % 2 == 1;
}
}  // namespace detail

inline GeneralCategory general_category(char32_t cp) {
  if (cp > 0x10FFFF) return GeneralCategory::Cn;
  return static_cast<GeneralCategory>(detail::run_value(tables::kGeneralCategory, cp));
}

// The regex classes \p{L}, \p{N}, \s and \w: of Split patterns and `Whitespace` (oniguruma), and of
// the added-token matcher's lstrip/rstrip/single_word (Rust's regex crate); both define \s as
// White_Space and \w as Alphabetic, marks, Nd, Pc and Join_Control.
inline bool is_letter(char32_t cp) { return general_category(cp) <= GeneralCategory::Lo; }
inline bool is_number(char32_t cp) {
  const auto c = general_category(cp);
  return c >= GeneralCategory::Nd && c <= GeneralCategory::No;
}
// The White_Space property: also Rust's char::is_whitespace.
inline bool is_whitespace(char32_t cp) { return detail::in_set(tables::kWhiteSpace, cp); }
inline bool is_word(char32_t cp) { return detail::in_set(tables::kWord, cp); }
// Rust's char::is_numeric (the `Digits` pre-tokenizer).
inline bool is_numeric(char32_t cp) { return is_number(cp); }

// The BERT definitions of `tokenizers` (normalizers/bert.rs).
inline bool is_bert_whitespace(char32_t cp) { return cp == '\t' || cp == '\n' || cp == '\r' || is_whitespace(cp); }
inline bool is_bert_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  return detail::in_set(tables::kBertControl, cp);
}
inline bool is_bert_punctuation(char32_t cp) {
  const bool ascii = (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
                     (cp >= 0x7B && cp <= 0x7E);
  return ascii || detail::in_set(tables::kBertPunctuation, cp);
}
inline bool is_chinese_char(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}
// What StripAccents removes: any mark (Mn, Mc, Me).
inline bool is_strip_accents_mark(char32_t cp) { return detail::in_set(tables::kStripAccentsMark, cp); }

inline std::uint8_t combining_class(char32_t cp) {
  if (cp > 0x10FFFF) return 0;
  return detail::run_value(tables::kCombiningClass, cp);
}

// ---- Normalization forms (UAX #15) ----

namespace detail {
constexpr char32_t kHangulBase = 0xAC00, kJamoL = 0x1100, kJamoV = 0x1161, kJamoT = 0x11A7;
constexpr char32_t kJamoVCount = 21, kJamoTCount = 28, kHangulCount = 11172;

inline const tables::Decomposition* find_decomposition(char32_t cp) {
  const auto* end = std::end(tables::kDecompositions);
  const auto* it = std::lower_bound(std::begin(tables::kDecompositions), end, cp,
                                    [](const tables::Decomposition& d, char32_t c) { return d.code_point < c; });
  return it != end && it->code_point == cp ? it : nullptr;
}

inline void decompose_into(std::vector<char32_t>& out, char32_t cp, bool compat) {
  if (cp >= kHangulBase && cp < kHangulBase + kHangulCount) {
    const char32_t s = cp - kHangulBase;
    out.push_back(kJamoL + s / (kJamoVCount * kJamoTCount));
    out.push_back(kJamoV + (s % (kJamoVCount * kJamoTCount)) / kJamoTCount);
    if (s % kJamoTCount != 0) out.push_back(kJamoT + s % kJamoTCount);
    return;
  }
  const tables::Decomposition* d = find_decomposition(cp);
  if (d == nullptr || ((d->flags & 1) != 0 && !compat)) {
    out.push_back(cp);
    return;
  }
  for (std::size_t i = 0; i < d->length; ++i) decompose_into(out, tables::kDecompositionPool[d->offset + i], compat);
}

// Canonical ordering: a stable sort of each run of non-starters by combining class.
inline void reorder_marks(std::vector<char32_t>& cps) {
  for (std::size_t i = 0; i < cps.size();) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + static_cast<std::ptrdiff_t>(i), cps.begin() + static_cast<std::ptrdiff_t>(j),
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
}

// Primary composites: (first, second) -> composite, from canonical pairs not excluded.
inline const std::vector<std::pair<std::uint64_t, char32_t>>& composition_pairs() {
  static const std::vector<std::pair<std::uint64_t, char32_t>> pairs = [] {
    std::vector<std::pair<std::uint64_t, char32_t>> p;
    for (const auto& d : tables::kDecompositions) {
      if (d.flags != 0 || d.length != 2) continue;
      const std::uint64_t key = std::uint64_t{tables::kDecompositionPool[d.offset]} << 32 | tables::kDecompositionPool[d.offset + 1];
      p.emplace_back(key, d.code_point);
    }
    std::sort(p.begin(), p.end());
    return p;
  }();
  return pairs;
}

inline char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kJamoL && a < kJamoL + 19 && b >= kJamoV && b < kJamoV + kJamoVCount)
    return kHangulBase + ((a - kJamoL) * kJamoVCount + (b - kJamoV)) * kJamoTCount;
  if (a >= kHangulBase && a < kHangulBase + kHangulCount && (a - kHangulBase) % kJamoTCount == 0 && b > kJamoT &&
      b < kJamoT + kJamoTCount)
    return a + (b - kJamoT);
  const auto& pairs = composition_pairs();
  const std::uint64_t key = std::uint64_t{a} << 32 | b;
  const auto it = std::lower_bound(pairs.begin(), pairs.end(), std::make_pair(key, char32_t{0}));
  return it != pairs.end() && it->first == key ? it->second : 0;
}

inline void compose(std::vector<char32_t>& cps) {
  if (cps.empty()) return;
  std::size_t starter = 0, out = 1;
  bool have_starter = combining_class(cps[0]) == 0;
  int last_class = have_starter ? 0 : 256;
  for (std::size_t i = 1; i < cps.size(); ++i) {
    const char32_t cp = cps[i];
    const int cls = combining_class(cp);
    // Blocked when a character of the same or higher class, or a starter, sits in between.
    const bool blocked = !have_starter || (last_class != 0 && last_class >= cls) || (last_class == 0 && out != starter + 1);
    if (!blocked) {
      if (const char32_t composite = compose_pair(cps[starter], cp); composite != 0) {
        cps[starter] = composite;
        continue;
      }
    }
    if (cls == 0) {
      starter = out;
      have_starter = true;
    }
    last_class = cls;
    cps[out++] = cp;
  }
  cps.resize(out);
}

inline std::string normalize_form(std::string_view text, bool compat, bool composed) {
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) decompose_into(cps, next_code_point(text, pos), compat);
  reorder_marks(cps);
  if (composed) compose(cps);
  return from_code_points(cps);
}
}  // namespace detail

inline std::string nfd(std::string_view text) { return detail::normalize_form(text, false, false); }
inline std::string nfkd(std::string_view text) { return detail::normalize_form(text, true, false); }
inline std::string nfc(std::string_view text) { return detail::normalize_form(text, false, true); }
inline std::string nfkc(std::string_view text) { return detail::normalize_form(text, true, true); }

// ---- Case and accents ----

// Rust's char::to_lowercase applied to each character (full mappings, no final-sigma context).
inline void append_lowercase(std::string& out, char32_t cp) {
  for (const auto& s : tables::kLowercaseSpecial) {
    if (s.from == cp) {
      for (char32_t c : s.to)
        if (c != 0) append_utf8(out, c);
      return;
    }
  }
  const auto* end = std::end(tables::kLowercase);
  const auto* it = std::lower_bound(std::begin(tables::kLowercase), end, cp,
                                    [](const tables::LowercasePair& p, char32_t c) { return p.from < c; });
  append_utf8(out, it != end && it->from == cp ? it->to : cp);
}

inline std::string lowercase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const auto byte = static_cast<unsigned char>(text[pos]);
    if (byte < 0x80) {
      out += static_cast<char>(byte >= 'A' && byte <= 'Z' ? byte + 32 : byte);
      ++pos;
    } else {
      append_lowercase(out, next_code_point(text, pos));
    }
  }
  return out;
}

// The text without the code points `removed` accepts.
template <class Predicate>
std::string without_code_points(std::string_view text, Predicate removed) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t start = pos;
    if (!removed(next_code_point(text, pos))) out.append(text.substr(start, pos - start));
  }
  return out;
}

inline std::string strip_accents(std::string_view text) { return without_code_points(text, is_strip_accents_mark); }

// BertNormalizer's accent stripping removes nonspacing marks (Mn) only: vowel signs (Mc) and
// enclosing marks (Me) stay, unlike the StripAccents normalizer.
inline std::string strip_nonspacing_marks(std::string_view text) {
  return without_code_points(text, [](char32_t cp) { return general_category(cp) == GeneralCategory::Mn; });
}

// ---- Grapheme clusters (UAX #29 extended clusters, as Rust's unicode-segmentation) ----

inline GraphemeBreak grapheme_break(char32_t cp) {
  if (cp > 0x10FFFF) return GraphemeBreak::Other;
  return static_cast<GraphemeBreak>(detail::run_value(tables::kGraphemeBreak, cp));
}
inline bool is_extended_pictographic(char32_t cp) { return detail::in_set(tables::kExtendedPictographic, cp); }

// Byte length of the extended grapheme cluster that starts at `pos` of valid UTF-8.
inline std::size_t grapheme_cluster_length(std::string_view text, std::size_t pos) {
  using G = GraphemeBreak;
  const std::size_t start = pos;
  char32_t prev_cp = next_code_point(text, pos);
  G prev = grapheme_break(prev_cp);
  bool emoji_then_extends = is_extended_pictographic(prev_cp);  // ExtPict Extend* so far (GB11)
  int regional_run = prev == G::RegionalIndicator ? 1 : 0;        // GB12/13
  while (pos < text.size()) {
    std::size_t next = pos;
    const char32_t cp = next_code_point(text, next);
    const G cur = grapheme_break(cp);
    bool join;
    if (prev == G::CR && cur == G::LF) join = true;                                            // GB3
    else if (prev == G::Control || prev == G::CR || prev == G::LF) join = false;                // GB4
    else if (cur == G::Control || cur == G::CR || cur == G::LF) join = false;                   // GB5
    else if (prev == G::L && (cur == G::L || cur == G::V || cur == G::LV || cur == G::LVT)) join = true;  // GB6
    else if ((prev == G::LV || prev == G::V) && (cur == G::V || cur == G::T)) join = true;      // GB7
    else if ((prev == G::LVT || prev == G::T) && cur == G::T) join = true;                      // GB8
    else if (cur == G::Extend || cur == G::ZWJ || cur == G::SpacingMark) join = true;           // GB9, GB9a
    else if (prev == G::Prepend) join = true;                                                   // GB9b
    else if (prev == G::ZWJ && emoji_then_extends && is_extended_pictographic(cp)) join = true;  // GB11
    else if (prev == G::RegionalIndicator && cur == G::RegionalIndicator) join = regional_run % 2 == 1;  // GB12/13
    else join = false;                                                                          // GB999
    if (!join) break;
    // GB11's state: ExtPict followed only by Extend, then the ZWJ just before.
    if (is_extended_pictographic(cp)) emoji_then_extends = true;
    else if (cur == G::Extend || cur == G::ZWJ) emoji_then_extends = emoji_then_extends && prev != G::ZWJ;
    else emoji_then_extends = false;
    regional_run = cur == G::RegionalIndicator ? regional_run + 1 : 0;
    prev = cur;
    pos = next;
  }
  return pos - start;
}

inline std::vector<std::string_view> grapheme_clusters(std::string_view text) {
  std::vector<std::string_view> out;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t length = grapheme_cluster_length(text, pos);
    out.push_back(text.substr(pos, length));
    pos += length;
  }
  return out;
}

}  // namespace qkv::tokenize
