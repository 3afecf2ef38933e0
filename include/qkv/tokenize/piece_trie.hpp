#pragma once
// A byte trie over token strings: the Unigram lattice and the added-token matcher both need
// "every token that starts the text at position i".
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qkv::tokenize {

// Byte trie over the pieces, for the pieces that start the text at a position.
class PieceTrie {
 public:
  // A piece inserted twice keeps its first id unless `replace` is set.
  void insert(const std::string& piece, int id, bool replace) {
    int node = 0;
    for (unsigned char byte : piece) {
      auto [it, inserted] = children_.try_emplace(edge(node, byte), static_cast<int>(ids_.size()));
      if (inserted) ids_.push_back(-1);
      node = it->second;
    }
    if (replace || ids_[node] < 0) ids_[node] = id;
  }
  // Calls f(length, id) for every piece that starts text[pos..], shortest first.
  template <class F>
  void prefixes(std::string_view text, std::size_t pos, F&& f) const {
    int node = 0;
    for (std::size_t i = pos; i < text.size(); ++i) {
      auto it = children_.find(edge(node, static_cast<unsigned char>(text[i])));
      if (it == children_.end()) return;
      node = it->second;
      if (ids_[node] >= 0) f(i + 1 - pos, ids_[node]);
    }
  }

 private:
  static std::uint64_t edge(int node, unsigned char byte) { return (static_cast<std::uint64_t>(node) << 8) | byte; }
  std::unordered_map<std::uint64_t, int> children_;
  std::vector<int> ids_{-1};  // node -> piece id, -1 for inner nodes; node 0 is the root
};

}  // namespace qkv::tokenize
