#pragma once
// A SentencePiece model file (.spm / .model): the ModelProto protobuf, read field by field
// without a protobuf library. Only what encoding and decoding need is kept: the pieces (text,
// score, type), the algorithm, byte fallback, and the normalizer spec.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "qkv/core/error.hpp"

namespace qkv::tokenize {

struct SentencePieceModel {
  enum class PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };
  enum class Algorithm { Unigram = 1, Bpe = 2, Word = 3, Char = 4 };
  struct Piece {
    std::string text;
    float score = 0;
    PieceType type = PieceType::Normal;
  };

  std::vector<Piece> pieces;
  Algorithm algorithm = Algorithm::Unigram;
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  // NormalizerSpec; the defaults are the proto's.
  std::string precompiled_charsmap;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;

  static SentencePieceModel parse(std::string_view bytes, const std::string& where);
};

namespace spm_detail {

// Protobuf wire format: (field << 3 | wire type) keys, varints, fixed 32/64-bit and
// length-delimited values. Every read is bounds-checked.
class ProtoReader {
 public:
  ProtoReader(std::string_view data, const std::string& where) : data_(data), where_(where) {}
  bool done() const { return pos_ >= data_.size(); }

  // Reads the next key; returns the field number, sets the wire type.
  std::uint32_t key(int& wire_type) {
    std::uint64_t k = varint();
    wire_type = static_cast<int>(k & 7);
    if ((k >> 3) == 0 || (k >> 3) > 0x1FFFFFFF) bad("invalid field number");
    return static_cast<std::uint32_t>(k >> 3);
  }
  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (done()) bad("truncated varint");
      auto byte = static_cast<unsigned char>(data_[pos_++]);
      value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if (!(byte & 0x80)) return value;
    }
    bad("varint longer than 10 bytes");
  }
  std::string_view bytes() {
    std::uint64_t length = varint();
    if (length > data_.size() - pos_) bad("length-delimited field runs past the end");
    std::string_view out = data_.substr(pos_, static_cast<std::size_t>(length));
    pos_ += static_cast<std::size_t>(length);
    return out;
  }
  float fixed32_float() {
    if (data_.size() - pos_ < 4) bad("truncated 32-bit field");
    std::uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) bits |= static_cast<std::uint32_t>(static_cast<unsigned char>(data_[pos_ + i])) << (8 * i);
    pos_ += 4;
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
  }
  void skip(int wire_type) {
    switch (wire_type) {
      case 0: varint(); return;
      case 1: advance(8); return;
      case 2: bytes(); return;
      case 5: advance(4); return;
      default: bad("unsupported wire type " + std::to_string(wire_type));
    }
  }
  void expect(int wire_type, int wanted, const char* field) {
    if (wire_type != wanted) bad(std::string("field ") + field + " has the wrong wire type");
  }
  [[noreturn]] void bad(const std::string& what) const {
    fail(where_, ": not a SentencePiece model (", what, " at byte ", pos_, ")");
  }

 private:
  void advance(std::size_t n) {
    if (data_.size() - pos_ < n) bad("truncated fixed-size field");
    pos_ += n;
  }
  std::string_view data_;
  const std::string& where_;
  std::size_t pos_ = 0;
};

inline SentencePieceModel::Piece parse_piece(std::string_view bytes, const std::string& where) {
  ProtoReader in(bytes, where);
  SentencePieceModel::Piece piece;
  while (!in.done()) {
    int wire;
    switch (in.key(wire)) {
      case 1: in.expect(wire, 2, "piece"); piece.text = std::string(in.bytes()); break;
      case 2: in.expect(wire, 5, "score"); piece.score = in.fixed32_float(); break;
      case 3: {
        in.expect(wire, 0, "type");
        std::uint64_t type = in.varint();
        if (type < 1 || type > 6) in.bad("unknown piece type " + std::to_string(type));
        piece.type = static_cast<SentencePieceModel::PieceType>(type);
        break;
      }
      default: in.skip(wire);
    }
  }
  return piece;
}

}  // namespace spm_detail

inline SentencePieceModel SentencePieceModel::parse(std::string_view bytes, const std::string& where) {
  using spm_detail::ProtoReader;
  SentencePieceModel model;
  ProtoReader in(bytes, where);
  while (!in.done()) {
    int wire;
    std::uint32_t field = in.key(wire);
    if (field == 1 || field == 2 || field == 3) in.expect(wire, 2, field == 1 ? "pieces" : field == 2 ? "trainer_spec" : "normalizer_spec");
    if (field == 1) {
      model.pieces.push_back(spm_detail::parse_piece(in.bytes(), where));
    } else if (field == 2) {  // TrainerSpec
      ProtoReader spec(in.bytes(), where);
      while (!spec.done()) {
        int w;
        std::uint32_t f = spec.key(w);
        if (f == 3 || f == 24 || f == 35) spec.expect(w, 0, "trainer_spec");
        if (f == 3) {
          std::uint64_t type = spec.varint();
          if (type < 1 || type > 4) spec.bad("unknown model_type " + std::to_string(type));
          model.algorithm = static_cast<Algorithm>(type);
        } else if (f == 24) {
          model.treat_whitespace_as_suffix = spec.varint() != 0;
        } else if (f == 35) {
          model.byte_fallback = spec.varint() != 0;
        } else {
          spec.skip(w);
        }
      }
    } else if (field == 3) {  // NormalizerSpec
      ProtoReader spec(in.bytes(), where);
      while (!spec.done()) {
        int w;
        std::uint32_t f = spec.key(w);
        if (f == 2) {
          spec.expect(w, 2, "precompiled_charsmap");
          model.precompiled_charsmap = std::string(spec.bytes());
        } else if (f >= 3 && f <= 5) {
          spec.expect(w, 0, "normalizer_spec");
          bool value = spec.varint() != 0;
          (f == 3 ? model.add_dummy_prefix : f == 4 ? model.remove_extra_whitespaces : model.escape_whitespaces) = value;
        } else {
          spec.skip(w);
        }
      }
    } else {
      in.skip(wire);
    }
  }
  if (model.pieces.empty()) fail(where, ": not a SentencePiece model (no pieces)");
  return model;
}

}  // namespace qkv::tokenize
