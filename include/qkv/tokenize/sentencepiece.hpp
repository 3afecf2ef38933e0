#pragma once
// SentencePiece's own encoder and decoder over a .spm file, as the sentencepiece library runs
// them (what transformers' slow tokenizers call): its normalization (user-defined pieces kept
// whole, the precompiled charsmap's longest match, extra whitespace removed, a dummy "▁" prefix,
// spaces escaped as "▁"), then the unigram lattice in float scores (user-defined pieces score
// length * max score - 0.1; an unknown character min score - 10; unknown runs fused and, with
// byte fallback, spelled as <0xXX> pieces).
#include <cstdio>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/piece_trie.hpp"
#include "qkv/tokenize/precompiled.hpp"
#include "qkv/tokenize/sentencepiece_model.hpp"
#include "qkv/tokenize/unigram.hpp"
#include "qkv/tokenize/utf8.hpp"

namespace qkv::tokenize {

class SentencePieceProcessor {
 public:
  using PieceType = SentencePieceModel::PieceType;

  SentencePieceProcessor(SentencePieceModel model, const std::string& where) : model_(std::move(model)) {
    if (model_.algorithm != SentencePieceModel::Algorithm::Unigram)
      fail(where, ": only unigram SentencePiece models are supported");
    if (!model_.precompiled_charsmap.empty()) charsmap_.emplace(model_.precompiled_charsmap, where);
    float min_score = std::numeric_limits<float>::max(), max_score = std::numeric_limits<float>::lowest();
    for (const auto& p : model_.pieces) {
      if (p.type != PieceType::Normal) continue;
      min_score = std::min(min_score, p.score);
      max_score = std::max(max_score, p.score);
    }
    unknown_score_ = min_score - static_cast<float>(UnigramLattice<float>::kUnknownPenalty);
    for (std::size_t i = 0; i < model_.pieces.size(); ++i) {
      const auto& p = model_.pieces[i];
      int id = static_cast<int>(i);
      ids_.emplace(p.text, id);  // the first piece with a text wins, as in sentencepiece
      if (p.type == PieceType::Unknown && !unk_id_) unk_id_ = id;
      if (p.type == PieceType::Normal) lattice_.add_piece(p.text, id, p.score);
      if (p.type == PieceType::UserDefined) {
        lattice_.add_piece(p.text, id, static_cast<float>(static_cast<float>(p.text.size()) * max_score - 0.1));
        user_defined_.insert(p.text, id, /*replace=*/false);
        has_user_defined_ = true;
      }
    }
    if (!unk_id_) fail(where, ": the SentencePiece model has no unknown piece");
  }

  static SentencePieceProcessor load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot open ", path);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return SentencePieceProcessor(SentencePieceModel::parse(bytes.str(), path), path);
  }

  std::vector<std::string> encode_as_pieces(std::string_view text) const {
    std::string normalized = normalize(text);
    std::vector<std::string> out;
    for (const auto& piece : UnigramLattice<float>::fuse_unknown(lattice_.segment(normalized, unknown_score_, unk_id_), unk_id_)) {
      if (piece.id == *unk_id_ && model_.byte_fallback) {
        for (unsigned char byte : piece.text) out.push_back(byte_piece(byte));
      } else {
        out.emplace_back(piece.text);
      }
    }
    return out;
  }

  // Pieces back to text: "▁" becomes a space (the first piece's leading one is dropped), byte
  // pieces are joined into UTF-8, control pieces vanish, the unknown piece reads " ⁇ ".
  std::string decode_pieces(const std::vector<std::string>& pieces) const {
    std::string out, bytes;
    bool at_start = true;
    auto flush_bytes = [&] {
      out += to_valid_utf8(bytes);
      if (!bytes.empty()) at_start = false;
      bytes.clear();
    };
    for (const std::string& piece : pieces) {
      int id = piece_id(piece);
      PieceType type = model_.pieces[id].type;
      if (type == PieceType::Byte) {
        bytes.push_back(static_cast<char>(std::stoi(model_.pieces[id].text.substr(3, 2), nullptr, 16)));
        continue;
      }
      flush_bytes();
      if (type == PieceType::Control) continue;
      std::string surface;
      if (type == PieceType::Unknown && piece == model_.pieces[id].text) {
        surface = " \xE2\x81\x87 ";
      } else {
        std::string_view rest(piece);
        if (at_start && (model_.add_dummy_prefix || model_.remove_extra_whitespaces) && rest.rfind(kSpace, 0) == 0)
          rest.remove_prefix(kSpace.size());
        for (std::size_t pos = 0; pos < rest.size();) {
          if (rest.compare(pos, kSpace.size(), kSpace) == 0) surface += ' ', pos += kSpace.size();
          else surface += rest[pos++];
        }
      }
      if (!surface.empty()) at_start = false;
      out += surface;
    }
    flush_bytes();
    return out;
  }

  // The id sentencepiece's PieceToId gives: unknown texts map to the unknown piece.
  int piece_id(std::string_view piece) const {
    auto it = ids_.find(std::string(piece));
    return it == ids_.end() ? *unk_id_ : it->second;
  }

  // SentencePiece's normalizer (normalizer.cc) on valid UTF-8.
  std::string normalize(std::string_view input) const {
    std::string out;
    if (model_.remove_extra_whitespaces) {
      while (!input.empty()) {
        auto [replacement, consumed] = normalize_prefix(input);
        if (replacement != " ") break;
        input.remove_prefix(consumed);
      }
    }
    if (input.empty()) return out;
    const std::string_view space = model_.escape_whitespaces ? kSpace : std::string_view(" ");
    if (!model_.treat_whitespace_as_suffix && model_.add_dummy_prefix) out += space;
    bool previous_space = model_.remove_extra_whitespaces;
    while (!input.empty()) {
      auto [replacement, consumed] = normalize_prefix(input);
      if (previous_space)
        while (!replacement.empty() && replacement.front() == ' ') replacement.remove_prefix(1);
      if (!replacement.empty()) {
        for (char c : replacement) {
          if (c == ' ' && model_.escape_whitespaces) out += kSpace;
          else out += c;
        }
        previous_space = replacement.back() == ' ';
      }
      input.remove_prefix(consumed);
      if (!model_.remove_extra_whitespaces) previous_space = false;
    }
    if (model_.remove_extra_whitespaces)
      while (out.size() >= space.size() && out.compare(out.size() - space.size(), space.size(), space) == 0)
        out.resize(out.size() - space.size());
    if (model_.treat_whitespace_as_suffix && model_.add_dummy_prefix) out += space;
    return out;
  }

  const SentencePieceModel& model() const { return model_; }

 private:
  static constexpr std::string_view kSpace = "\xE2\x96\x81";  // ▁

  static std::string byte_piece(unsigned char byte) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", byte);
    return name;
  }

  // The normalized form of the longest prefix rule that applies, and how many input bytes it covers.
  std::pair<std::string_view, std::size_t> normalize_prefix(std::string_view input) const {
    if (has_user_defined_) {
      std::size_t longest = 0;
      user_defined_.prefixes(input, 0, [&](std::size_t length, int) { longest = length; });
      if (longest > 0) return {input.substr(0, longest), longest};
    }
    if (charsmap_)
      if (auto match = charsmap_->longest_match(input)) return {match->second, match->first};
    std::size_t prefix = 0;
    std::size_t length = detail::utf8_sequence_length(input, 0, prefix);
    if (length == 0) return {"\xEF\xBF\xBD", 1};  // a malformed byte reads as U+FFFD, bypassing the charsmap
    return {input.substr(0, length), length};
  }

  SentencePieceModel model_;
  std::optional<PrecompiledCharsmap> charsmap_;
  UnigramLattice<float> lattice_;
  PieceTrie user_defined_;
  bool has_user_defined_ = false;
  std::unordered_map<std::string, int> ids_;
  std::optional<int> unk_id_;
  float unknown_score_ = 0;
};

}  // namespace qkv::tokenize
