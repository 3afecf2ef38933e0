#pragma once
// UTF-8 helpers for the tokenizer. Text inside the tokenizer is always valid UTF-8: user input is
// repaired once by to_valid_utf8, so the decoders here may assume well-formed sequences.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace qkv::tokenize {

namespace detail {
// Length of the well-formed sequence starting at text[pos], 0 when the bytes there are not one.
// Per the Unicode standard (table 3-7): no overlongs, no surrogates, nothing above U+10FFFF.
// `prefix` receives how many bytes form a maximal subpart of a well-formed sequence (at least 1),
// which is what one U+FFFD replaces (the WHATWG / Rust from_utf8_lossy policy).
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t pos, std::size_t& prefix) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char b0 = byte(0);
  prefix = 1;
  if (b0 < 0x80) return 1;
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (std::size_t i = 1; i < need; ++i) {
    if (pos + i >= text.size()) return 0;
    const unsigned char b = byte(i);
    if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
    prefix = i + 1;
  }
  return need;
}
}  // namespace detail

// Invalid sequences become U+FFFD, one per maximal subpart.
inline std::string to_valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    std::size_t prefix = 0;
    const std::size_t length = detail::utf8_sequence_length(bytes, pos, prefix);
    if (length != 0) {
      out.append(bytes.substr(pos, length));
      pos += length;
    } else {
      out += "\xEF\xBF\xBD";
      pos += prefix;
    }
  }
  return out;
}

inline bool is_valid_utf8(std::string_view bytes) {
  std::size_t pos = 0, prefix = 0;
  while (pos < bytes.size()) {
    const std::size_t length = detail::utf8_sequence_length(bytes, pos, prefix);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

// Decodes the code point at `pos` of valid UTF-8 and advances pos past it.
inline char32_t next_code_point(std::string_view text, std::size_t& pos) {
  const auto byte = [&](std::size_t i) { return static_cast<char32_t>(static_cast<unsigned char>(text[pos + i])); };
  const char32_t b0 = byte(0);
  char32_t cp;
  if (b0 < 0x80) {
    cp = b0;
    pos += 1;
  } else if (b0 < 0xE0) {
    cp = ((b0 & 0x1F) << 6) | (byte(1) & 0x3F);
    pos += 2;
  } else if (b0 < 0xF0) {
    cp = ((b0 & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    pos += 3;
  } else {
    cp = ((b0 & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
    pos += 4;
  }
  return cp;
}

// Number of bytes of the UTF-8 sequence that starts with `lead`.
inline std::size_t utf8_length_from_lead(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

inline std::string utf8(char32_t cp) {
  std::string out;
  append_utf8(out, cp);
  return out;
}

inline std::vector<char32_t> code_points(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) out.push_back(next_code_point(text, pos));
  return out;
}

inline std::string from_code_points(const std::vector<char32_t>& cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t cp : cps) append_utf8(out, cp);
  return out;
}

}  // namespace qkv::tokenize
