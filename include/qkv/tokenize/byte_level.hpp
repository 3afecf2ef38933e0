#pragma once
// GPT-2's bytes_to_unicode: every byte maps to a printable code point so that byte-level BPE
// vocabularies can be stored as text. Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') map
// to themselves; the other 68 bytes map, in byte order, to U+0100, U+0101, ...
#include <array>
#include <optional>
#include <string>

#include "qkv/tokenize/utf8.hpp"

namespace qkv::tokenize {

namespace detail {
inline bool byte_maps_to_itself(unsigned b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

inline const std::array<char32_t, 256>& byte_to_code_point() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    char32_t next = 0x100;
    for (unsigned b = 0; b < 256; ++b) t[b] = byte_maps_to_itself(b) ? b : next++;
    return t;
  }();
  return table;
}
}  // namespace detail

// Each entry is the UTF-8 of the code point byte b maps to.
inline const std::array<std::string, 256>& byte_to_unicode() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    for (unsigned b = 0; b < 256; ++b) t[b] = utf8(detail::byte_to_code_point()[b]);
    return t;
  }();
  return table;
}

inline std::optional<unsigned char> unicode_to_byte(char32_t cp) {
  if (cp < 0x100) {
    if (detail::byte_maps_to_itself(cp)) return static_cast<unsigned char>(cp);
    return std::nullopt;
  }
  if (cp >= 0x100 + 68) return std::nullopt;
  static const std::array<unsigned char, 68> shifted = [] {
    std::array<unsigned char, 68> t{};
    for (unsigned b = 0; b < 256; ++b) {
      const char32_t mapped = detail::byte_to_code_point()[b];
      if (mapped >= 0x100) t[mapped - 0x100] = static_cast<unsigned char>(b);
    }
    return t;
  }();
  return shifted[cp - 0x100];
}

}  // namespace qkv::tokenize
