#pragma once
// Unigram as tokenizers does it: Viterbi over the pieces that match at each position (highest
// total score wins; ties keep the first path found), a character no piece starts with costs the
// lowest piece score minus 10 and becomes the unknown piece, and adjacent unknowns fuse into one.
// Pieces missing from the vocab (only fused unknowns) become <0xXX> byte tokens when
// byte_fallback is set and all bytes exist, else the unknown id.
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/model.hpp"
#include "qkv/tokenize/piece_trie.hpp"
#include "qkv/tokenize/spec_fields.hpp"

namespace qkv::tokenize {

// The lattice search shared by tokenizer.json Unigram models and SentencePiece files. Returns
// the pieces of the best segmentation as substrings of `text`, unknown runs fused.
class UnigramLattice {
 public:
  static constexpr double kUnknownPenalty = 10.0;

  void add_piece(const std::string& piece, int id, double score) {
    trie_.insert(piece, id, /*replace=*/true);  // like tokenizers' token -> id map
    if (static_cast<std::size_t>(id) >= scores_.size()) scores_.resize(id + 1, 0.0);
    scores_[id] = score;
    min_score_ = std::min(min_score_, score);
  }
  double min_score() const { return min_score_; }
  std::optional<int> unk_id;

  // `unknown_score` is what one unknown character costs.
  std::vector<std::string_view> segment(std::string_view text, double unknown_score) const {
    struct Node {
      int id = -1;
      double score = 0;
      std::size_t start = 0;
      bool reached = false;
    };
    std::vector<Node> best(text.size() + 1);
    best[0].reached = true;
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t char_len = std::min(utf8_length(static_cast<unsigned char>(text[pos])), text.size() - pos);
      double base = best[pos].score;
      bool single_char_piece = false;
      auto offer = [&](std::size_t end, int id, double score) {
        Node& node = best[end];
        if (!node.reached || base + score > node.score) node = Node{id, base + score, pos, true};
      };
      trie_.prefixes(text, pos, [&](std::size_t length, int id) {
        offer(pos + length, id, scores_[id]);
        if (length == char_len) single_char_piece = true;
      });
      if (!single_char_piece) {
        if (!unk_id) fail("Unigram model: the text has a character outside the vocab and there is no unk_id");
        offer(pos + char_len, *unk_id, unknown_score);
      }
      pos += char_len;
    }
    std::vector<std::string_view> pieces;
    std::size_t unknown_end = 0;  // end of the unknown run being fused, 0 if none
    for (std::size_t end = text.size(); end > 0;) {
      const Node& node = best[end];
      if (unk_id && node.id == *unk_id) {
        if (unknown_end == 0) unknown_end = end;
      } else {
        if (unknown_end != 0) pieces.push_back(text.substr(end, unknown_end - end)), unknown_end = 0;
        pieces.push_back(text.substr(node.start, end - node.start));
      }
      end = node.start;
    }
    if (unknown_end != 0) pieces.push_back(text.substr(0, unknown_end));
    return {pieces.rbegin(), pieces.rend()};
  }

  static std::size_t utf8_length(unsigned char lead) {
    return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  }

 private:
  PieceTrie trie_;
  std::vector<double> scores_;
  double min_score_ = std::numeric_limits<double>::infinity();
};

class UnigramModel : public Model {
 public:
  UnigramModel(const nlohmann::json& spec, const std::string& where) {
    const auto& vocab = spec::required(spec, "vocab", where);
    if (!vocab.is_array()) fail(where, ": 'vocab' must be an array of [piece, score]");
    int id = 0;
    for (const auto& entry : vocab) {
      if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number())
        fail(where, ": vocab entry ", id, " must be [piece, score]");
      std::string piece = entry[0].get<std::string>();
      vocab_.add(piece, id);
      lattice_.add_piece(piece, id, entry[1].get<double>());
      ++id;
    }
    if (spec::present(spec, "unk_id")) {
      int unk = spec::index_field(spec, "unk_id", where);
      if (unk >= id) fail(where, ": unk_id ", unk, " is outside the vocab of ", id, " pieces");
      lattice_.unk_id = unk;
    }
    byte_fallback_ = spec::bool_or(spec, "byte_fallback", false, where);
  }

  const Vocab& vocab() const override { return vocab_; }

  void tokenize(std::string_view word, std::vector<int>& out) const override {
    if (word.empty()) return;
    for (std::string_view piece : lattice_.segment(word, lattice_.min_score() - UnigramLattice::kUnknownPenalty)) {
      if (auto id = vocab_.find(piece)) {
        out.push_back(*id);
      } else if (!(byte_fallback_ && push_bytes(piece, out))) {
        if (!lattice_.unk_id) fail("Unigram model: no unk_id for the unknown piece \"", piece, "\"");
        out.push_back(*lattice_.unk_id);
      }
    }
  }

 private:
  bool push_bytes(std::string_view piece, std::vector<int>& out) const {
    std::vector<int> ids;
    for (unsigned char byte : piece) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", byte);
      auto id = vocab_.find(name);
      if (!id) return false;
      ids.push_back(*id);
    }
    out.insert(out.end(), ids.begin(), ids.end());
    return true;
  }

  Vocab vocab_;
  UnigramLattice lattice_;
  bool byte_fallback_ = false;
};

}  // namespace qkv::tokenize
