#pragma once
// Byte-pair encoding as tokenizers' BPE model does it: split a word into characters (with the
// continuing-subword prefix / end-of-word suffix), fall back to <0xXX> byte tokens or the unknown
// token for characters outside the vocab, then apply merges lowest rank first (leftmost among
// equal ranks) until none applies.
#include <cstdint>
#include <cstdio>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/model.hpp"
#include "qkv/tokenize/json_fields.hpp"

namespace qkv::tokenize {

class BpeModel : public Model {
 public:
  BpeModel(const nlohmann::json& spec, const std::string& where) {
    if (fields::present(spec, "dropout")) {
      const auto& dropout = spec.at("dropout");
      if (!dropout.is_number() || dropout.get<double>() != 0.0)
        fail(where, ": BPE dropout is random; only null or 0 is supported");
    }
    if (fields::present(spec, "unk_token")) unk_token_ = fields::string_field(spec, "unk_token", where);
    prefix_ = fields::string_or(spec, "continuing_subword_prefix", "", where);
    suffix_ = fields::string_or(spec, "end_of_word_suffix", "", where);
    fuse_unk_ = fields::bool_or(spec, "fuse_unk", false, where);
    byte_fallback_ = fields::bool_or(spec, "byte_fallback", false, where);
    ignore_merges_ = fields::bool_or(spec, "ignore_merges", false, where);

    const auto& vocab = fields::required(spec, "vocab", where);
    if (!vocab.is_object()) fail(where, ": 'vocab' must be an object of token -> id");
    for (const auto& [token, id] : vocab.items()) vocab_.add(token, fields::index_of(id, where, "vocab"));

    const auto& merges = fields::required(spec, "merges", where);
    if (!merges.is_array()) fail(where, ": 'merges' must be an array");
    int rank = 0;
    for (const auto& merge : merges) {
      auto [left, right] = merge_pair(merge, where);
      if (left.rfind("#version", 0) == 0 && merge.is_string()) continue;  // merges.txt header line
      add_merge(left, right, rank++, where);
    }
  }

  const Vocab& vocab() const override { return vocab_; }

  void tokenize(std::string_view word, std::vector<int>& out) const override {
    if (word.empty()) return;
    if (ignore_merges_) {
      if (auto id = vocab_.find(word)) return out.push_back(*id);
    }
    std::vector<Symbol> symbols = initial_symbols(word);
    merge_all(symbols);
    for (const Symbol& s : symbols)
      if (s.alive) out.push_back(s.id);
  }

 private:
  struct Symbol {
    int id;
    int prev, next;  // neighbours still alive, -1 at the ends
    bool alive = true;
  };
  struct MergeInfo {
    int rank, new_id;
  };
  struct Candidate {
    int rank, pos, new_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };

  static std::uint64_t key(int a, int b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }

  // "a b" (merges.txt style, exactly one space) or ["a", "b"].
  static std::pair<std::string, std::string> merge_pair(const nlohmann::json& merge, const std::string& where) {
    if (merge.is_string()) {
      const auto& line = merge.get_ref<const std::string&>();
      if (line.rfind("#version", 0) == 0) return {line, ""};
      auto space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
        fail(where, ": merge \"", line, "\" must be two tokens separated by one space");
      return {line.substr(0, space), line.substr(space + 1)};
    }
    if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string())
      return {merge[0].get<std::string>(), merge[1].get<std::string>()};
    fail(where, ": each merge must be \"a b\" or [\"a\", \"b\"], got ", merge.dump());
  }

  void add_merge(const std::string& left, const std::string& right, int rank, const std::string& where) {
    auto a = vocab_.find(left), b = vocab_.find(right);
    if (!a) fail(where, ": merge token \"", left, "\" is not in the vocab");
    if (!b) fail(where, ": merge token \"", right, "\" is not in the vocab");
    // The right part loses its continuing-subword prefix in the merged token ("a" + "##b" -> "ab").
    if (right.size() < prefix_.size()) fail(where, ": merge token \"", right, "\" is shorter than the subword prefix");
    std::string merged = left + right.substr(prefix_.size());
    auto id = vocab_.find(merged);
    if (!id) fail(where, ": merged token \"", merged, "\" is not in the vocab");
    merges_[key(*a, *b)] = MergeInfo{rank, *id};  // a repeated pair keeps its last rank
  }

  std::vector<Symbol> initial_symbols(std::string_view word) const {
    std::vector<Symbol> symbols;
    int pending_unk = -1;  // unknown token waiting to be fused with the next, -1 if none
    auto push = [&symbols](int id) {
      int pos = static_cast<int>(symbols.size());
      symbols.push_back(Symbol{id, pos - 1, pos + 1});
    };
    std::size_t i = 0;
    while (i < word.size()) {
      std::size_t end = i + utf8_length(static_cast<unsigned char>(word[i]));
      if (end > word.size()) end = word.size();
      std::string s(word.substr(i, end - i));
      if (i != 0) s = prefix_ + s;
      if (end == word.size()) s += suffix_;
      i = end;
      if (auto id = vocab_.find(s)) {
        if (pending_unk >= 0) push(pending_unk), pending_unk = -1;
        push(*id);
        continue;
      }
      if (const auto bytes = byte_fallback_ ? byte_fallback_ids(vocab_, s) : std::nullopt) {
        for (const int id : *bytes) push(id);
        continue;
      }
      if (!unk_token_) continue;  // no unknown token: the character is dropped
      auto unk = vocab_.find(*unk_token_);
      if (!unk) fail("BPE model: unk_token \"", *unk_token_, "\" is not in the vocab");
      if (pending_unk >= 0 && !fuse_unk_) push(pending_unk);
      pending_unk = *unk;
    }
    if (pending_unk >= 0) push(pending_unk);
    if (!symbols.empty()) symbols.back().next = -1;
    return symbols;
  }


  static std::size_t utf8_length(unsigned char lead) {
    return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  }

  const MergeInfo* find_merge(int a, int b) const {
    auto it = merges_.find(key(a, b));
    return it == merges_.end() ? nullptr : &it->second;
  }

  void merge_all(std::vector<Symbol>& symbols) const {
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i)
      if (const MergeInfo* m = find_merge(symbols[i].id, symbols[i + 1].id))
        queue.push(Candidate{m->rank, static_cast<int>(i), m->new_id});
    while (!queue.empty()) {
      Candidate top = queue.top();
      queue.pop();
      Symbol& left = symbols[top.pos];
      if (!left.alive || left.next < 0) continue;
      Symbol& right = symbols[left.next];
      // Stale entry: one side has merged since this candidate was queued.
      const MergeInfo* m = find_merge(left.id, right.id);
      if (!m || m->new_id != top.new_id) continue;
      left.id = top.new_id;
      right.alive = false;
      left.next = right.next;
      if (left.next >= 0) symbols[left.next].prev = top.pos;
      if (left.prev >= 0)
        if (const MergeInfo* p = find_merge(symbols[left.prev].id, left.id))
          queue.push(Candidate{p->rank, left.prev, p->new_id});
      if (left.next >= 0)
        if (const MergeInfo* n = find_merge(left.id, symbols[left.next].id))
          queue.push(Candidate{n->rank, top.pos, n->new_id});
    }
  }

  Vocab vocab_;
  std::unordered_map<std::uint64_t, MergeInfo> merges_;
  std::optional<std::string> unk_token_;
  std::string prefix_, suffix_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
};

}  // namespace qkv::tokenize
