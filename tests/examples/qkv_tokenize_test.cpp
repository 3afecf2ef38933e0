// qkv-tokenize: the reference corpus (ids from Hugging Face's tokenizers library) through the
// program, one process per tokenizer with the strings on stdin, raw bytes included.
#include <nlohmann/json.hpp>

#include "support/run_program.hpp"

namespace qkv {
namespace {

struct TokenizeCase {
  std::string bytes;  // what the program reads (invalid UTF-8 as raw bytes)
  std::string ids, ids_plain, decode, decode_skip;
};

std::string tokenize_join(const nlohmann::json& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : " ") + std::to_string(id.get<int>());
  return out;
}

std::string tokenize_from_hex(const std::string& hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) bytes += char(std::stoi(hex.substr(i, 2), nullptr, 16));
  return bytes;
}

// The corpus cases a line of stdin can carry (no line breaks in the text).
std::vector<TokenizeCase> tokenize_cases(const std::string& name) {
  const auto doc = nlohmann::json::parse(test::read_file(test::data_path("tokenize/" + name + "/expected.json")));
  std::vector<TokenizeCase> cases;
  for (const auto& c : doc.at("cases")) {
    TokenizeCase t;
    t.bytes = c.contains("hex") ? tokenize_from_hex(c.at("hex").get<std::string>()) : c.at("text").get<std::string>();
    if (t.bytes.find_first_of("\r\n") != std::string::npos) continue;
    t.ids = tokenize_join(c.at("ids"));
    t.ids_plain = tokenize_join(c.contains("ids_plain") ? c.at("ids_plain") : c.at("ids"));
    t.decode = c.at("decode").get<std::string>();
    t.decode_skip = c.at("decode_skip").get<std::string>();
    cases.push_back(t);
  }
  return cases;
}

class QkvTokenizeCorpus : public ::testing::TestWithParam<std::string> {};

TEST_P(QkvTokenizeCorpus, EncodeAndDecodeMatchHuggingFaceTokenizers) {
  const auto cases = tokenize_cases(GetParam());
  ASSERT_GT(cases.size(), 250u);
  std::string input, id_lines;
  for (const auto& c : cases) {
    input += c.bytes + "\n";
    id_lines += c.ids + "\n";
  }
  const std::string model = "--model tests/data/tokenize/" + GetParam();
  const auto encoded = test::run_example("qkv-tokenize", model, input);
  const auto plain = test::run_example("qkv-tokenize", model + " --no-special-tokens", input);
  const auto decoded = test::run_example("qkv-tokenize", model + " --decode", id_lines);
  const auto skipped = test::run_example("qkv-tokenize", model + " --decode --no-special-tokens", id_lines);
  for (const auto* r : {&encoded, &plain, &decoded, &skipped}) ASSERT_EQ(r->exit_code, 0) << r->err;
  const auto e = test::output_lines(encoded.out), p = test::output_lines(plain.out), d = test::output_lines(decoded.out),
             s = test::output_lines(skipped.out);
  ASSERT_EQ(e.size(), cases.size());
  ASSERT_EQ(p.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(e[i], cases[i].ids) << "encode " << cases[i].bytes;
    EXPECT_EQ(p[i], cases[i].ids_plain) << "encode --no-special-tokens " << cases[i].bytes;
  }
  // Decoded text may hold line breaks, so compare the whole output.
  std::string want_decoded, want_skipped;
  for (const auto& c : cases) {
    want_decoded += c.decode + "\n";
    want_skipped += c.decode_skip + "\n";
  }
  EXPECT_EQ(decoded.out, want_decoded);
  EXPECT_EQ(skipped.out, want_skipped);
}

INSTANTIATE_TEST_SUITE_P(Corpus, QkvTokenizeCorpus, ::testing::Values("gpt2", "bert-base-uncased", "unigram"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(QkvTokenize, TextArgumentsAndTokens) {
  const auto r = test::run_example("qkv-tokenize", "--model tests/data/tokenize/gpt2 'Hello world' --tokens");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello \xC4\xA0world\n");  // GPT-2's byte-level "Ġworld"
  EXPECT_EQ(test::run_example("qkv-tokenize", "--model tests/data/tokenize/gpt2 'Hello world'").out, "15496 995\n");
  EXPECT_EQ(test::run_example("qkv-tokenize", "--model tests/data/tokenize/gpt2 --decode '15496 995'").out, "Hello world\n");
}

TEST(QkvTokenize, FailuresAreOneLineAndNonZero) {
  test::expect_one_line_error(test::run_example("qkv-tokenize", "--model tests/data/tokenize/gpt2 --decode '1 x'"), "'x'");
  test::expect_one_line_error(test::run_example("qkv-tokenize", "--model tests/data/tokenize/gpt2 --decode '50257'"),
                              "outside the vocabulary");
  test::expect_one_line_error(test::run_example("qkv-tokenize", "--model /nonexistent 'hi'"), "/nonexistent");
  test::expect_one_line_error(test::run_example("qkv-tokenize", "--model tests/data/hf/gpt2_a 'hi'"), "tokenizer.json");
  test::expect_one_line_error(test::run_example("qkv-tokenize", "'hi'"), "--model");
}

}  // namespace
}  // namespace qkv
