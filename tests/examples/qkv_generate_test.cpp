// The qkv-generate program (a contract of DESIGN.md): run as a user runs it, on the gpt2_a
// reference folder, checking what it prints and how it fails.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "qkv/generate/generate.hpp"
#include "qkv/models/hf/load.hpp"
#include "support/hf_case.hpp"
#include "support/run_program.hpp"

namespace qkv {
namespace {

const std::string kGenerateBinary = test::example_path("qkv-generate");

std::string joined(const std::vector<std::int64_t>& ids, const char* separator) {
  std::string s;
  for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? separator : "") + std::to_string(ids[i]);
  return s;
}

class QkvGenerate : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kGenerateBinary)) GTEST_SKIP() << kGenerateBinary << " is not built (QKV_BUILD_EXAMPLES=OFF?)";
  }
  const std::string model_dir = test::data_path("hf/gpt2_a");
  const std::string model = "--model '" + model_dir + "'";
  const test::HfCase gpt2{"gpt2_a"};

  std::vector<std::int64_t> prompt() const {
    const Tensor<std::int64_t> ids = gpt2.inputs.to_int64("single.input_ids");
    return std::vector<std::int64_t>(ids.data(), ids.data() + ids.numel());
  }
  // HF's 10 greedy ids after the prompt.
  std::vector<std::int64_t> reference() const {
    const Tensor<std::int64_t> s = gpt2.expected.to_int64("single.greedy.sequences");
    return std::vector<std::int64_t>(s.data() + prompt().size(), s.data() + s.numel());
  }
};

// Every decoder-only reference case through the program: greedy ids equal transformers'.
class QkvGenerateCase : public ::testing::TestWithParam<const char*> {};

TEST_P(QkvGenerateCase, GreedyPrintIdsEqualsTransformers) {
  if (!std::filesystem::exists(kGenerateBinary)) GTEST_SKIP() << kGenerateBinary << " is not built";
  const test::HfCase c(GetParam());
  const Tensor<std::int64_t> prompt = c.inputs.to_int64("single.input_ids"), sequence = c.expected.to_int64("single.greedy.sequences");
  const std::vector<std::int64_t> ids(prompt.data(), prompt.data() + prompt.numel()),
      generated(sequence.data() + prompt.numel(), sequence.data() + sequence.numel());
  const auto r = test::run_example("qkv-generate", "--model '" + c.dir + "' --ids " + joined(ids, ",") +
                                                       " --greedy --max-new-tokens 10 --print-ids");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, joined(generated, " ") + "\n") << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Hf, QkvGenerateCase, ::testing::Values("gpt2_a", "gpt2_a_fp16", "llama_a", "llama_gqa"));

TEST_F(QkvGenerate, PrintIdsPrintsTransformersGreedyIdsOnOneLine) {
  const test::ProgramResult r = test::run_example("qkv-generate", model + " --ids " + joined(prompt(), ",") + " --greedy --max-new-tokens 10 --print-ids");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, joined(reference(), " ") + "\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(QkvGenerate, TextOutputNeedsTheFoldersTokenizer) {
  // The reference folders hold no tokenizer.json: printing text is refused, ids still work.
  test::expect_one_line_error(
      test::run_example("qkv-generate", model + " --ids " + joined(prompt(), ",") + " --greedy --max-new-tokens 10"),
      "tokenizer.json");
}

TEST_F(QkvGenerate, SamplingFlagsGiveWhatTheLibraryGives) {
  const std::string flags = " --ids " + joined(prompt(), ",") + " --max-new-tokens 8 --temperature 0.9 --top-k 40 --top-p 0.9 --seed 5 --print-ids";
  const test::ProgramResult a = test::run_example("qkv-generate", model + flags), b = test::run_example("qkv-generate", model + flags);
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  GenerateOptions o = GenerateOptions::from(GenerationConfig::load(model_dir));
  o.max_new_tokens = 8;
  o.sampling.temperature = 0.9f, o.sampling.top_k = 40, o.sampling.top_p = 0.9f, o.sampling.seed = 5;
  const auto decoder = std::get<DecoderModel>(load(model_dir));
  EXPECT_EQ(a.out, joined(generate(decoder, {prompt()}, o).ids[0], " ") + "\n");
  // The default max-new-tokens is 20.
  const test::ProgramResult d = test::run_example("qkv-generate", model + " --ids 1,2 --seed 3 --print-ids");
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(std::count(d.out.begin(), d.out.end(), ' ') + 1, 20) << d.out;
}

TEST_F(QkvGenerate, FailuresAreOneLineOnStderr) {
  test::expect_one_line_error(test::run_example("qkv-generate", "--ids 1,2,3"), "--model");
  test::expect_one_line_error(test::run_example("qkv-generate", model + " --ids 1,x,3"), "--ids expects an integer, got 'x'");
  test::expect_one_line_error(test::run_example("qkv-generate", model + " --ids 1,,3"), "--ids expects an integer");
  test::expect_one_line_error(test::run_example("qkv-generate", model + " --prompt 'The ball is'"), "tokenizer.json");
  test::expect_one_line_error(test::run_example("qkv-generate", model + " --prompt 'The ball is'"), "tokenizer.json");
  test::expect_one_line_error(test::run_example("qkv-generate", model), "--ids");
  test::expect_one_line_error(test::run_example("qkv-generate", model + " --ids 1,500 --print-ids"), "outside the vocabulary");
  test::expect_one_line_error(test::run_example("qkv-generate", model + " --ids 1 --max-new-tokens -2"), "--max-new-tokens must be >= 0");
  test::expect_one_line_error(test::run_example("qkv-generate", model + " --ids 1 --max-new-tokens 64 --print-ids"), "exceeds the model's 64 positions");
  test::expect_one_line_error(test::run_example("qkv-generate", model + " --ids 1 --top-p 0"), "top_p");
  test::expect_one_line_error(test::run_example("qkv-generate", model + " --ids 1 --frobnicate"), "unknown option --frobnicate");
  test::expect_one_line_error(test::run_example("qkv-generate", "--model '" + test::data_path("hf/t5_a") + "' --ids 1"), "qkv-translate");
  test::expect_one_line_error(test::run_example("qkv-generate", "--model '" + test::data_path("hf/bert_a") + "' --ids 1"), "qkv-embed");
  test::expect_one_line_error(test::run_example("qkv-generate", "--model /nonexistent/dir --ids 1"), "/nonexistent/dir");
}

}  // namespace
}  // namespace qkv
