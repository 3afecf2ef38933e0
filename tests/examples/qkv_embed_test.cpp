// qkv-embed: one JSON array per input, pooled from the encoder's last hidden state.
#include <nlohmann/json.hpp>

#include "support/run_program.hpp"

namespace qkv {
namespace {

TEST(QkvEmbed, ClsAndMeanPoolingMatchTransformersHiddenStates) {
  const auto inputs = test::open_data("hf/bert_a/inputs.safetensors");
  const auto expected = test::open_data("hf/bert_a/expected.safetensors");
  const Tensor<std::int64_t> ids = inputs.to_int64("single.input_ids");
  std::string list;
  for (std::int64_t t = 0; t < ids.dim(1); ++t) list += (t ? "," : "") + std::to_string(ids(0, t));
  const Tensor<float> hidden = expected.to_float("single.last_hidden_state");  // [1, L, d], token types all 0
  for (const std::string pooling : {"cls", "mean"}) {
    const auto r = test::run_example("qkv-embed", "--model tests/data/hf/bert_a --pooling " + pooling + " --ids " + list);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto values = nlohmann::json::parse(r.out).get<std::vector<float>>();
    ASSERT_EQ(std::int64_t(values.size()), hidden.dim(2));
    Tensor<float> got({hidden.dim(2)}), want({hidden.dim(2)});
    for (std::int64_t i = 0; i < hidden.dim(2); ++i) {
      got(i) = values[std::size_t(i)];
      double sum = 0;
      for (std::int64_t t = 0; t < hidden.dim(1); ++t) sum += hidden(0, t, i);
      want(i) = pooling == "cls" ? hidden(0, 0, i) : float(sum / double(hidden.dim(1)));
    }
    test::expect_close(got, want, 1e-5, "qkv-embed " + pooling);
  }
}

TEST(QkvEmbed, FailuresAreOneLineAndNonZero) {
  test::expect_one_line_error(test::run_example("qkv-embed", "--model tests/data/hf/bert_a 'some text'"), "tokenizer");
  test::expect_one_line_error(test::run_example("qkv-embed", "--model tests/data/hf/gpt2_a --ids 1,2"), "not an encoder-only model");
  test::expect_one_line_error(test::run_example("qkv-embed", "--model tests/data/hf/bert_a --ids 1,x"), "--ids");
  test::expect_one_line_error(test::run_example("qkv-embed", "--model tests/data/hf/bert_a --pooling max --ids 1"), "--pooling");
  test::expect_one_line_error(test::run_example("qkv-embed", "--model tests/data/hf/bert_a --ids 1,5000"), "out of range");
}

}  // namespace
}  // namespace qkv
