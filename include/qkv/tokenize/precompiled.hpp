#pragma once
// SentencePiece's precompiled charsmap: a Darts-clone double-array trie over UTF-8 byte strings
// whose values are offsets into a pool of NUL-terminated replacement strings. Blob layout:
// uint32 little-endian trie size in bytes, the trie's uint32 units, then the pool.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/unicode.hpp"
#include "qkv/tokenize/utf8.hpp"

namespace qkv::tokenize {

class PrecompiledCharsmap {
 public:
  PrecompiledCharsmap(std::string_view blob, std::string where) : where_(std::move(where)) {
    if (blob.size() < 4) fail(where_, ": precompiled charsmap of ", blob.size(), " bytes is too short");
    const std::uint32_t trie_bytes = read_u32(blob, 0);
    if (trie_bytes % 4 != 0 || trie_bytes > blob.size() - 4)
      fail(where_, ": precompiled charsmap trie size ", trie_bytes, " does not fit its ", blob.size(), " bytes");
    units_.resize(trie_bytes / 4);
    for (std::size_t i = 0; i < units_.size(); ++i) units_[i] = read_u32(blob, 4 + 4 * i);
    if (units_.empty()) fail(where_, ": precompiled charsmap has an empty trie");
    pool_ = std::string(blob.substr(4 + trie_bytes));
    if (!is_valid_utf8(pool_)) fail(where_, ": precompiled charsmap replacement strings are not valid UTF-8");
  }

  // SentencePiece's own rule: the longest trie entry that prefixes text.
  std::optional<std::pair<std::size_t, std::string_view>> longest_match(std::string_view text) const {
    std::optional<std::pair<std::size_t, std::string_view>> best;
    search(text, [&](std::size_t length, std::uint32_t value) {
      best = std::make_pair(length, replacement(value));
      return true;
    });
    return best;
  }

  // The rule of Hugging Face `tokenizers` (spm_precompiled): per grapheme cluster shorter than 6
  // bytes, the SHORTEST entry prefixing the cluster replaces the WHOLE cluster; otherwise each
  // character on its own, again by its shortest matching prefix.
  std::string normalize_like_tokenizers(std::string_view text) const {
    std::string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
      const std::string_view cluster = text.substr(pos, grapheme_cluster_length(text, pos));
      pos += cluster.size();
      if (cluster.size() < 6) {
        if (const auto r = shortest_match(cluster)) {
          out += *r;
          continue;
        }
      }
      for (std::size_t i = 0; i < cluster.size();) {
        const std::string_view ch = cluster.substr(i, utf8_length_from_lead(static_cast<unsigned char>(cluster[i])));
        i += ch.size();
        const auto r = shortest_match(ch);
        out += r ? *r : ch;
      }
    }
    return out;
  }

 private:
  static std::uint32_t read_u32(std::string_view blob, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(blob[at + static_cast<std::size_t>(i)]);
    return v;
  }

  std::uint32_t unit(std::size_t index) const {
    if (index >= units_.size()) fail(where_, ": precompiled charsmap trie index ", index, " out of range");
    return units_[index];
  }

  // Darts-clone unit fields.
  static std::size_t offset(std::uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }
  static bool has_leaf(std::uint32_t u) { return ((u >> 8) & 1) != 0; }
  static std::uint32_t label(std::uint32_t u) { return u & ((1u << 31) | 0xFF); }
  static std::uint32_t value(std::uint32_t u) { return u & ((1u << 31) - 1); }

  // Calls found(prefix length, value) for each entry that prefixes key, shortest first, until it
  // returns false. Like spm_precompiled, a NUL byte ends the key.
  template <class Found>
  void search(std::string_view key, Found found) const {
    std::size_t node = offset(unit(0));
    for (std::size_t i = 0; i < key.size(); ++i) {
      const auto c = static_cast<unsigned char>(key[i]);
      if (c == 0) return;
      node ^= c;
      const std::uint32_t u = unit(node);
      if (label(u) != c) return;
      node ^= offset(u);
      if (has_leaf(u) && !found(i + 1, value(unit(node)))) return;
    }
  }

  std::optional<std::string_view> shortest_match(std::string_view key) const {
    std::optional<std::string_view> r;
    search(key, [&](std::size_t, std::uint32_t v) {
      r = replacement(v);
      return false;
    });
    return r;
  }

  std::string_view replacement(std::uint32_t start) const {
    if (start > pool_.size()) fail(where_, ": precompiled charsmap replacement offset ", start, " out of range");
    const std::size_t end = pool_.find('\0', start);
    return std::string_view(pool_).substr(start, (end == std::string::npos ? pool_.size() : end) - start);
  }

  std::string where_;
  std::vector<std::uint32_t> units_;
  std::string pool_;
};

}  // namespace qkv::tokenize
