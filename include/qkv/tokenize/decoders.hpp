#pragma once
// Decoders (tokenizer.json "decoder"): turn token strings back into text. Each step maps a list of
// token strings to a new list, as tokenizers' decode_chain does; the final text is their
// concatenation.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/byte_level.hpp"
#include "qkv/tokenize/json_fields.hpp"
#include "qkv/tokenize/utf8.hpp"

namespace qkv::tokenize {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
};

namespace decoder_detail {
inline void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size())
    out.append(s, pos, hit - pos).append(to);
  s = out.append(s, pos, std::string::npos);
}
}  // namespace decoder_detail

// GPT-2 byte-level: each token's characters map back to bytes (a token with a character outside
// the byte alphabet keeps its UTF-8 bytes); invalid UTF-8 in the joined bytes becomes U+FFFD.
class ByteLevelDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string bytes;
    for (const std::string& token : tokens) {
      std::string mapped;
      bool all_mapped = true;
      for (std::size_t pos = 0; pos < token.size() && all_mapped;) {
        auto byte = unicode_to_byte(next_code_point(token, pos));
        if (byte) mapped.push_back(static_cast<char>(*byte));
        all_mapped = byte.has_value();
      }
      bytes += all_mapped ? mapped : token;
    }
    return {to_valid_utf8(bytes)};
  }
};

// "##ing" joins the previous token; other tokens after the first get a space before them.
class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0) {
          // Rust's replacen(prefix, "", 1) removes the first occurrence: here the leading one.
          t.erase(0, prefix_.size());
        } else {
          t.insert(0, " ");
        }
      }
      if (cleanup_) cleanup(t);
    }
    return tokens;
  }
  // Undoes the spaces word-level tokenization put before punctuation and English contractions.
  static void cleanup(std::string& s) {
    static const char* const kPairs[][2] = {{" .", "."},   {" ?", "?"},     {" !", "!"},          {" ,", ","},
                                            {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},        {" do not", " don't"},
                                            {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& pair : kPairs) decoder_detail::replace_all(s, pair[0], pair[1]);
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

// SentencePiece-style: the replacement character ("▁") becomes a space, except in the first
// token when a prefix space was prepended at encoding (prepend_scheme not "never").
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first) : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i)
      decoder_detail::replace_all(tokens[i], replacement_, i == 0 && strip_first_ ? "" : " ");
    return tokens;
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

// The end-of-word suffix ("</w>") becomes a space, except on the last token.
class BpeSuffixDecoder : public Decoder {
 public:
  explicit BpeSuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i)
      decoder_detail::replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
    return tokens;
  }

 private:
  std::string suffix_;
};

// Runs of <0xXX> tokens become the text of their bytes, or one U+FFFD per byte when the run is
// not valid UTF-8.
class ByteFallbackDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string run;
    std::size_t run_length = 0;
    auto flush = [&] {
      if (run_length == 0) return;
      if (to_valid_utf8(run) == run) {
        out.push_back(run);
      } else {
        for (std::size_t i = 0; i < run_length; ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      run.clear();
      run_length = 0;
    };
    for (std::string& token : tokens) {
      if (auto byte = byte_token(token)) {
        run.push_back(static_cast<char>(*byte));
        ++run_length;
      } else {
        flush();
        out.push_back(std::move(token));
      }
    }
    flush();
    return out;
  }

 private:
  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static std::optional<unsigned char> byte_token(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return std::nullopt;
    int hi = hex(t[3]), lo = hex(t[4]);
    if (hi < 0 || lo < 0) return std::nullopt;
    return static_cast<unsigned char>(hi * 16 + lo);
  }
};

class FuseDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    return {all};
  }
};

// Removes up to `start` leading and `stop` trailing copies of one character from every token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, std::size_t start, std::size_t stop) : content_(content), start_(start), stop_(stop) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& token : tokens) {
      std::vector<char32_t> chars = code_points(token);
      std::size_t begin = 0;
      while (begin < start_ && begin < chars.size() && chars[begin] == content_) ++begin;
      std::size_t end = chars.size();
      while (chars.size() - end < stop_ && end > begin && chars[end - 1] == content_) --end;
      std::string kept;
      for (std::size_t i = begin; i < end; ++i) append_utf8(kept, chars[i]);
      token = std::move(kept);
    }
    return tokens;
  }

 private:
  char32_t content_;
  std::size_t start_, stop_;
};

// Replace with a literal pattern (the Regex form is not supported).
class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(std::string pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& token : tokens) decoder_detail::replace_all(token, pattern_, content_);
    return tokens;
  }

 private:
  std::string pattern_, content_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (const auto& step : steps_) tokens = step->decode_chain(std::move(tokens));
    return tokens;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

// Whether a Metaspace's first token loses its replacement characters: prepend_scheme (default
// "always") is not "never". Older files also say add_prefix_space, which must agree with it.
inline bool metaspace_strips_first(const nlohmann::json& spec, const std::string& where) {
  std::string scheme = fields::string_or(spec, "prepend_scheme", "always", where);
  if (scheme != "always" && scheme != "never" && scheme != "first")
    fail(where, ": prepend_scheme must be \"always\", \"never\" or \"first\", got \"", scheme, "\"");
  if (fields::present(spec, "add_prefix_space") && fields::bool_or(spec, "add_prefix_space", true, where) != (scheme != "never"))
    fail(where, ": add_prefix_space does not match prepend_scheme \"", scheme, "\"");
  return scheme != "never";
}

inline std::unique_ptr<Decoder> make_decoder(const nlohmann::json& spec, const std::string& where) {
  const std::string& type = fields::type_of(spec, where);
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "WordPiece")
    return std::make_unique<WordPieceDecoder>(fields::string_or(spec, "prefix", "##", where),
                                              fields::bool_or(spec, "cleanup", true, where));
  if (type == "Metaspace")
    return std::make_unique<MetaspaceDecoder>(fields::char_field(spec, "replacement", "\xE2\x96\x81", where),
                                              metaspace_strips_first(spec, where));
  if (type == "BPEDecoder") return std::make_unique<BpeSuffixDecoder>(fields::string_or(spec, "suffix", "</w>", where));
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    std::string content = fields::char_field(spec, "content", " ", where);
    return std::make_unique<StripDecoder>(code_points(content).at(0), fields::index_field(spec, "start", where),
                                          fields::index_field(spec, "stop", where));
  }
  if (type == "Replace") {
    const auto& pattern = fields::required(spec, "pattern", where);
    if (!fields::present(pattern, "String"))
      fail(where, ": only {\"String\": ...} patterns are supported in a Replace decoder");
    return std::make_unique<ReplaceDecoder>(fields::string_field(pattern, "String", where),
                                            fields::string_field(spec, "content", where));
  }
  if (type == "Sequence") {
    const auto& list = fields::required(spec, "decoders", where);
    if (!list.is_array()) fail(where, ": 'decoders' must be an array");
    std::vector<std::unique_ptr<Decoder>> steps;
    for (std::size_t i = 0; i < list.size(); ++i)
      steps.push_back(make_decoder(list[i], where + ".decoders[" + std::to_string(i) + "]"));
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  fail(where, ": unknown decoder type \"", type,
       "\" (expected ByteLevel, WordPiece, Metaspace, BPEDecoder, ByteFallback, Fuse, Strip, Replace or Sequence)");
}

}  // namespace qkv::tokenize
