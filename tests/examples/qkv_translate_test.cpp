// Runs the built qkv-translate program on marian_a and compares its output with transformers'
// greedy and 4-beam generations; checks the error contract (one stderr line, non-zero exit).
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "qkv/generate/seq2seq.hpp"
#include "support/hf_case.hpp"
#include "support/run_program.hpp"

namespace qkv {
namespace {

const std::string kTranslateBinary = test::example_path("qkv-translate");

class QkvTranslate : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kTranslateBinary)) GTEST_SKIP() << kTranslateBinary << " is not built";
  }
  const std::string model = test::data_path("hf/marian_a");
};

// "--ids a,b,c" of the case's single source.
std::string single_ids(const test::HfCase& c) {
  const auto ids = c.inputs.to_int64("single.input_ids");
  std::string s;
  for (std::int64_t t = 0; t < ids.dim(1); ++t) s += (t ? "," : "") + std::to_string(ids(0, t));
  return s;
}

// The reference's generated ids (no decoder start, up to and including an EOS) as one output line.
std::string expected_line(const test::HfCase& c, const std::string& name) {
  const auto ids = generated_ids(c.expected.to_int64(name), 0, 1, GenerationConfig::load(c.dir));
  std::string s;
  for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s + "\n";
}

// Every encoder-decoder reference case, greedy and 4 beams, through the program.
class QkvTranslateCase : public ::testing::TestWithParam<const char*> {};

TEST_P(QkvTranslateCase, PrintsTheIdsTransformersGenerates) {
  if (!std::filesystem::exists(kTranslateBinary)) GTEST_SKIP() << kTranslateBinary << " is not built";
  const test::HfCase c(GetParam());
  for (const auto& [beams, reference] : {std::pair<int, const char*>{1, "single.greedy.sequences"}, {4, "single.beam4.sequences"}}) {
    const auto r = test::run_example("qkv-translate", "--model '" + c.dir + "' --beams " + std::to_string(beams) + " --ids " +
                                                          single_ids(c) + " --print-ids --max-new-tokens 10");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, expected_line(c, reference)) << GetParam() << " beams " << beams;
  }
}

INSTANTIATE_TEST_SUITE_P(Hf, QkvTranslateCase, ::testing::Values("t5_a", "bart_a", "marian_a"));

TEST_F(QkvTranslate, GreedyPrintsTheIdsTransformersGenerates) {
  const test::HfCase c("marian_a");
  const test::ProgramResult r = test::run_example("qkv-translate", "--model '" + model + "' --ids " + single_ids(c) + " --print-ids --max-new-tokens 10");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, expected_line(c, "single.greedy.sequences"));
  // Text output needs the folder's tokenizer, which the reference folders do not have.
  test::expect_one_line_error(
      test::run_example("qkv-translate", "--model '" + model + "' --ids " + single_ids(c) + " --max-new-tokens 10 --beams 1"),
      "tokenizer.json");
}

TEST_F(QkvTranslate, FourBeamsPrintTheIdsTransformersGenerates) {
  const test::HfCase c("marian_a");
  const test::ProgramResult r = test::run_example("qkv-translate", "--model '" + model + "' --beams 4 --ids " + single_ids(c) + " --print-ids --max-new-tokens 10");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, expected_line(c, "single.beam4.sequences"));
}

TEST_F(QkvTranslate, ErrorsAreOneLineAndANonZeroExit) {
  test::expect_one_line_error(test::run_example("qkv-translate", "--model '" + model + "' 'the ball is blue'"), "tokenizer", "TEXT");
  test::expect_one_line_error(test::run_example("qkv-translate", "--ids 1,2,3"), "--model", "missing --model");
  test::expect_one_line_error(test::run_example("qkv-translate", "--model '" + model + "' --beams 0 --ids 1,2,3"), "--beams", "--beams 0");
  test::expect_one_line_error(test::run_example("qkv-translate", "--model '" + model + "'"), "tokenizer.json", "no input and no tokenizer");
  test::expect_one_line_error(test::run_example("qkv-translate", "--model '" + model + "' --ids 1,x"), "--ids", "bad ids");
  test::expect_one_line_error(test::run_example("qkv-translate", "--model '" + test::data_path("hf/gpt2_a") + "' --ids 1,2"), "qkv-generate", "decoder-only");
  test::expect_one_line_error(test::run_example("qkv-translate", "--model '" + test::data_path("hf/bert_a") + "' --ids 1,2"), "qkv-embed", "encoder-only");
}

}  // namespace
}  // namespace qkv
