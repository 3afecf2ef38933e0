#pragma once
// Unigram as tokenizers does it: Viterbi over the pieces that match at each position (highest
// total score wins; ties keep the first path found), a character no piece starts with costs the
// lowest piece score minus 10 and becomes the unknown piece, and adjacent unknowns fuse into one.
// Pieces missing from the vocab (only fused unknowns) become <0xXX> byte tokens when
// byte_fallback is set and all bytes exist, else the unknown id.
#include <algorithm>
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
#include "qkv/tokenize/json_fields.hpp"

namespace qkv::tokenize {

// The Viterbi search shared by tokenizer.json Unigram models (double scores) and SentencePiece
// files (float scores, as sentencepiece computes them): the best segmentation of `text` into
// pieces, with each character no piece starts with as a piece of its own with `unknown_id`.
// Ties keep the first path found.
template <class Score>
class UnigramLattice {
 public:
  static constexpr double kUnknownPenalty = 10.0;  // an unknown character costs min score - 10

  void add_piece(const std::string& piece, int id, Score score) {
    trie_.insert(piece, id, /*replace=*/true);  // like tokenizers' token -> id map
    if (static_cast<std::size_t>(id) >= scores_.size()) scores_.resize(id + 1, Score(0));
    scores_[id] = score;
  }

  struct Piece {
    std::string_view text;
    int id;  // unknown_id for unknown characters
  };

  std::vector<Piece> segment(std::string_view text, Score unknown_score, std::optional<int> unknown_id) const {
    struct Node {
      int id = -1;
      Score score = 0;
      std::size_t start = 0;
      bool reached = false;
    };
    std::vector<Node> best(text.size() + 1);
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t char_len = std::min(utf8_length(static_cast<unsigned char>(text[pos])), text.size() - pos);
      Score base = best[pos].score;
      bool single_char_piece = false;
      auto offer = [&](std::size_t end, int id, Score score) {
        Node& node = best[end];
        Score total = score + base;
        if (!node.reached || total > node.score) node = Node{id, total, pos, true};
      };
      trie_.prefixes(text, pos, [&](std::size_t length, int id) {
        offer(pos + length, id, scores_[id]);
        if (length == char_len) single_char_piece = true;
      });
      if (!single_char_piece) {
        if (!unknown_id) fail("Unigram model: the text has a character outside the vocab and there is no unk_id");
        offer(pos + char_len, *unknown_id, unknown_score);
      }
      pos += char_len;
    }
    std::vector<Piece> pieces;
    for (std::size_t end = text.size(); end > 0; end = best[end].start)
      pieces.push_back(Piece{text.substr(best[end].start, end - best[end].start), best[end].id});
    return {pieces.rbegin(), pieces.rend()};
  }

  // Adjacent unknown pieces become one, as both tokenizers and sentencepiece do.
  static std::vector<Piece> fuse_unknown(const std::vector<Piece>& pieces, std::optional<int> unknown_id) {
    std::vector<Piece> out;
    for (const Piece& p : pieces) {
      bool unknown = unknown_id && p.id == *unknown_id;
      if (unknown && !out.empty() && out.back().id == p.id)
        out.back().text = std::string_view(out.back().text.data(), out.back().text.size() + p.text.size());
      else
        out.push_back(p);
    }
    return out;
  }

  static std::size_t utf8_length(unsigned char lead) {
    return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  }

 private:
  PieceTrie trie_;
  std::vector<Score> scores_;
};

class UnigramModel : public Model {
 public:
  UnigramModel(const nlohmann::json& spec, const std::string& where) {
    const auto& vocab = fields::required(spec, "vocab", where);
    if (!vocab.is_array()) fail(where, ": 'vocab' must be an array of [piece, score]");
    int id = 0;
    for (const auto& entry : vocab) {
      if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number())
        fail(where, ": vocab entry ", id, " must be [piece, score]");
      std::string piece = entry[0].get<std::string>();
      vocab_.add(piece, id);
      double score = entry[1].get<double>();
      lattice_.add_piece(piece, id, score);
      min_score_ = std::min(min_score_, score);
      ++id;
    }
    if (fields::present(spec, "unk_id")) {
      int unk = fields::index_field(spec, "unk_id", where);
      if (unk >= id) fail(where, ": unk_id ", unk, " is outside the vocab of ", id, " pieces");
      unk_id_ = unk;
    }
    byte_fallback_ = fields::bool_or(spec, "byte_fallback", false, where);
  }

  const Vocab& vocab() const override { return vocab_; }

  void tokenize(std::string_view word, std::vector<int>& out) const override {
    if (word.empty()) return;
    auto pieces = lattice_.segment(word, min_score_ - UnigramLattice<double>::kUnknownPenalty, unk_id_);
    for (const auto& fused : UnigramLattice<double>::fuse_unknown(pieces, unk_id_)) {
      std::string_view piece = fused.text;
      if (auto id = vocab_.find(piece)) {
        out.push_back(*id);
      } else if (const auto bytes = byte_fallback_ ? byte_fallback_ids(vocab_, piece) : std::nullopt) {
        out.insert(out.end(), bytes->begin(), bytes->end());
      } else {
        if (!unk_id_) fail("Unigram model: no unk_id for the unknown piece \"", piece, "\"");
        out.push_back(*unk_id_);
      }
    }
  }

 private:
  Vocab vocab_;
  UnigramLattice<double> lattice_;
  double min_score_ = std::numeric_limits<double>::infinity();
  std::optional<int> unk_id_;
  bool byte_fallback_ = false;
};

}  // namespace qkv::tokenize
