// qkv-tokenize --model DIR [--decode] [--no-special-tokens] [--tokens] TEXT...
// The model folder's tokenizer (tokenizer.json, or Marian's SentencePiece files) on the command
// line: prints the token ids of each TEXT (none: each line of stdin), space-separated, one line
// per input; --tokens prints the tokens themselves. With --decode each TEXT is space-separated
// ids and the text they decode to is printed. --no-special-tokens leaves out the special tokens
// the tokenizer adds (encoding) or skips them (decoding).
#include <cstdint>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "text_io.hpp"

int main(int argc, char** argv) {
  const char* usage =
      "--model DIR [--decode] [--no-special-tokens] [--tokens] TEXT...\n"
      "  TEXT...              texts to tokenize (with --decode: space-separated ids); none: stdin lines\n"
      "  --decode             turn ids back into text\n"
      "  --no-special-tokens  do not add special tokens (with --decode: skip them)\n"
      "  --tokens             print the tokens instead of their ids";
  return qkv::cli::run(
      argc, argv, usage, {"model"}, {"decode", "no-special-tokens", "tokens"}, [](const qkv::cli::Args& args) {
        const qkv::Tokenizer tokenizer = qkv::Tokenizer::load(args.value("model"));
        const bool special = !args.flag("no-special-tokens");
        for (const std::string& text : qkv::cli::texts_or_stdin_lines(args.positional())) {
          if (args.flag("decode")) {
            std::vector<int> ids;
            std::istringstream words(text);
            for (std::string word; words >> word;) {
              const std::int64_t id = qkv::cli::Args::parse_integer(word, "--decode");
              if (id < INT32_MIN || id > INT32_MAX) qkv::fail("token id ", id, " is outside the vocabulary");
              ids.push_back(int(id));
            }
            std::cout << tokenizer.decode(ids, /*skip_special_tokens=*/!special) << "\n";
            continue;
          }
          const std::vector<int> ids = tokenizer.encode(text, special);
          for (std::size_t i = 0; i < ids.size(); ++i) {
            if (i) std::cout << ' ';
            if (args.flag("tokens")) std::cout << tokenizer.id_to_token(ids[i]);
            else std::cout << ids[i];
          }
          std::cout << "\n";
        }
        return 0;
      });
}
