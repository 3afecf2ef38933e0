#pragma once
// Standard base64 (RFC 4648, '+' '/', '=' padding) decoding: tokenizer.json stores binary blobs
// such as SentencePiece's precompiled charsmap this way.
#include <string>
#include <string_view>

#include "qkv/core/error.hpp"

namespace qkv::tokenize {

// Malformed input -> qkv::Error naming `where`.
inline std::string base64_decode(std::string_view text, const std::string& where) {
  const auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) fail(where, ": invalid base64 (length)");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) fail(where, ": invalid base64 character '", c, "'");
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

}  // namespace qkv::tokenize
