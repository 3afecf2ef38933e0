// qkv-forward: one forward pass of a Hugging Face folder, outputs named as transformers names them.
#include "qkv/io/safetensors.hpp"
#include "support/run_program.hpp"

namespace qkv {
namespace {

// Writes the `single.*` inputs of a reference case under the names qkv-forward reads.
std::string write_inputs(const std::string& name, const std::vector<std::string>& fields, const test::TempDir& dir) {
  const auto inputs = test::open_data("hf/" + name + "/inputs.safetensors");
  std::vector<Tensor<std::int64_t>> tensors;
  for (const auto& f : fields) tensors.push_back(inputs.to_int64("single." + f));
  std::vector<std::pair<std::string, TensorView<const std::int64_t>>> views;
  for (std::size_t i = 0; i < fields.size(); ++i) views.emplace_back(fields[i], tensors[i].view());
  const std::string path = dir.path() + "/in.safetensors";
  io::write_safetensors(path, {}, views);
  return path;
}

void expect_outputs(const std::string& name, const std::vector<std::string>& fields,
                    const std::vector<std::pair<std::string, std::string>>& outputs, double rtol) {
  const test::TempDir dir;
  const std::string in = write_inputs(name, fields, dir), out = dir.path() + "/out.safetensors";
  const auto r = test::run_example("qkv-forward", "--model tests/data/hf/" + name + " --input " + in + " --output " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = io::SafetensorsFile::open(out);
  const auto expected = test::open_data("hf/" + name + "/expected.safetensors");
  for (const auto& [output, reference] : outputs)
    test::expect_close(got.to_float(output), expected.to_float("single." + reference), test::float32_reference_rtol(rtol), "qkv-forward " + name + " " + output);
}

// Every reference case through the program, with the outputs transformers names.
class QkvForwardCase : public ::testing::TestWithParam<const char*> {};

TEST_P(QkvForwardCase, OutputsMatchTransformers) {
  const std::string name = GetParam();
  if (name == "bert_a") {
    expect_outputs(name, {"input_ids", "attention_mask", "token_type_ids"},
                   {{"last_hidden_state", "last_hidden_state"}, {"pooler_output", "pooler_output"}}, 1e-5);
  } else if (name == "t5_a" || name == "bart_a" || name == "marian_a") {
    expect_outputs(name, {"input_ids", "attention_mask", "decoder_input_ids"},
                   {{"logits", "logits"},
                    {"last_hidden_state", "decoder_last_hidden_state"},
                    {"encoder_last_hidden_state", "encoder_last_hidden_state"}},
                   name == "t5_a" ? 1e-4 : 1e-5);
  } else {
    expect_outputs(name, {"input_ids", "attention_mask"}, {{"logits", "logits"}, {"last_hidden_state", "last_hidden_state"}}, 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(Hf, QkvForwardCase,
                         ::testing::Values("gpt2_a", "gpt2_a_fp16", "llama_a", "llama_gqa", "bert_a", "t5_a", "bart_a",
                                           "marian_a"));

TEST(QkvForward, FailuresAreOneLineAndNonZero) {
  test::expect_one_line_error(test::run_example("qkv-forward", "--model tests/data/hf/gpt2_a --input /nonexistent.safetensors --output /tmp/x"),
                              "/nonexistent.safetensors");
  test::expect_one_line_error(test::run_example("qkv-forward", "--input a --output b"), "--model");
  test::expect_one_line_error(test::run_example("qkv-forward", "--model /nonexistent --input a --output b"), "/nonexistent/config.json");
  const test::TempDir dir;
  const std::string in = write_inputs("bart_a", {"input_ids"}, dir);  // no decoder_input_ids
  test::expect_one_line_error(test::run_example("qkv-forward", "--model tests/data/hf/bart_a --input " + in + " --output /tmp/x"),
                              "decoder_input_ids");
}

}  // namespace
}  // namespace qkv
