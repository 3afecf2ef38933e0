#pragma once
// What the programs share for text: the inputs (TEXT arguments, or one per stdin line), the
// tokenizer of a model folder, and readable token labels for attention pictures.
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "qkv/tokenize/tokenizer.hpp"
#include "qkv/tokenize/utf8.hpp"

namespace qkv::cli {

// The TEXT arguments; with none, every line of stdin (so a file of sentences runs in one process).
inline std::vector<std::string> texts_or_stdin_lines(const std::vector<std::string>& positional) {
  if (!positional.empty()) return positional;
  std::vector<std::string> lines;
  for (std::string line; std::getline(std::cin, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

inline std::vector<std::int64_t> to_int64(const std::vector<int>& ids) { return {ids.begin(), ids.end()}; }
inline std::vector<int> to_int(const std::vector<std::int64_t>& ids) { return {ids.begin(), ids.end()}; }

// The token ids of each input: --ids, else each TEXT (or stdin line) encoded by `tokenizer`.
inline std::vector<std::vector<std::int64_t>> token_inputs(const Args& args, const Tokenizer* tokenizer) {
  if (args.has("ids")) return {parse_ids(args.value("ids"))};
  std::vector<std::vector<std::int64_t>> inputs;
  for (const std::string& text : texts_or_stdin_lines(args.positional()))
    inputs.push_back(to_int64(tokenizer->encode(text)));
  return inputs;
}

// text as the inside of a JSON string literal.
inline std::string json_escaped(const std::string& text) {
  std::string out;
  char escape[8];
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      std::snprintf(escape, sizeof escape, "\\u%04x", unsigned(c));
      out += escape;
    } else {
      out += c;
    }
  }
  return out;
}

// A token as a person reads it: its own decoded text (" the" rather than "Ġthe"), trimmed; the raw
// token when that leaves nothing (a special token, a lone space, a partial UTF-8 byte).
inline std::string token_label(const Tokenizer& tokenizer, std::int64_t id) {
  std::string text = tokenize::to_valid_utf8(tokenizer.decode({int(id)}));
  const auto first = text.find_first_not_of(" \t\n");
  text = first == std::string::npos ? "" : text.substr(first, text.find_last_not_of(" \t\n") - first + 1);
  if (text.empty() || text == "\xEF\xBF\xBD") text = tokenize::to_valid_utf8(tokenizer.id_to_token(int(id)));
  return text;
}

inline std::vector<std::string> token_labels(const Tokenizer& tokenizer, const std::vector<std::int64_t>& ids) {
  std::vector<std::string> labels;
  for (const std::int64_t id : ids) labels.push_back(token_label(tokenizer, id));
  return labels;
}

// Prints generated text as the ids arrive. The whole sequence is decoded each time (decoders
// join tokens with context: spaces, "##" pieces, bytes of one character split over tokens) and
// only the new tail is printed; a tail ending in U+FFFD waits for the rest of its character.
class TextStreamer {
 public:
  TextStreamer(const Tokenizer& tokenizer, std::vector<std::int64_t> prefix = {})
      : tokenizer_(tokenizer), ids_(std::move(prefix)) {}

  void push(std::int64_t id) {
    ids_.push_back(id);
    print(false);
  }
  void finish() { print(true); }

 private:
  void print(bool final) {
    const std::string text = tokenizer_.decode(to_int(ids_), /*skip_special_tokens=*/true);
    const bool incomplete = text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0;
    if ((incomplete && !final) || text.size() <= printed_) return;
    std::cout << text.substr(printed_) << std::flush;
    printed_ = text.size();
  }

  const Tokenizer& tokenizer_;
  std::vector<std::int64_t> ids_;
  std::size_t printed_ = 0;
};

}  // namespace qkv::cli
