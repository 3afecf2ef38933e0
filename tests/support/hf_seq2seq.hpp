#pragma once
// Helpers for the Hugging Face encoder-decoder cases (tests/data/hf/{t5_a,bart_a,marian_a}, see
// the shared refs README): run the reference inputs and compare every forward output, and build
// edited copies of a case folder (config.json and model.safetensors) in a temporary directory.
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/models/hf/load.hpp"
#include "support/fixture_model.hpp"
#include "support/hf_case.hpp"

namespace qkv::test {

inline std::string hf_case_dir(const std::string& name) { return data_path("hf/" + name); }

inline EncoderDecoderModel load_seq2seq(const std::string& dir) { return std::get<EncoderDecoderModel>(load(dir)); }

// Compares model.forward on the case's `group` ("single" or "batch") with expected.safetensors:
// logits, both last hidden states, all hidden states and all attention probabilities, at valid
// positions (right-padded sources: padded source positions and queries are skipped).
inline void expect_seq2seq_matches(const EncoderDecoderModel& model, const std::string& name, const std::string& group,
                                   double rtol) {
  const auto inputs = open_data("hf/" + name + "/inputs.safetensors");
  const auto expected = open_data("hf/" + name + "/expected.safetensors");
  const auto ids = inputs.to_int64(group + ".input_ids"), mask = inputs.to_int64(group + ".attention_mask");
  const auto dec = inputs.to_int64(group + ".decoder_input_ids");
  const auto source_padding = padding_of(mask);
  const Tensor<std::uint8_t> target_padding(dec.shape());  // teacher-forced targets are unpadded
  ForwardOptions options;
  options.output_attentions = options.output_hidden_states = true;
  const Seq2SeqOutput out = model.forward(ids, mask, dec, {}, options);
  auto ref = [&](const std::string& what) { return expected.to_float(group + "." + what); };
  const std::string tag = name + " " + group + " ";
  const std::int64_t d = model.config.d_model, heads = model.config.num_heads, ls = ids.dim(1), lt = dec.dim(1);

  expect_close(out.logits, ref("logits"), rtol, tag + "logits", valid_rows(target_padding, out.logits.dim(2)));
  expect_close(out.encoder_last_hidden_state, ref("encoder_last_hidden_state"), rtol, tag + "encoder_last_hidden_state",
               valid_rows(source_padding, d));
  expect_close(out.last_hidden_state, ref("decoder_last_hidden_state"), rtol, tag + "decoder_last_hidden_state",
               valid_rows(target_padding, d));

  auto each = [&](const std::vector<Tensor<float>>& got, const std::string& what,
                  const std::function<bool(std::int64_t)>& valid) {
    const Tensor<float> all = ref(what);
    ASSERT_EQ(std::int64_t(got.size()), all.dim(0)) << tag << what;
    for (std::int64_t i = 0; i < all.dim(0); ++i)
      expect_close(got[std::size_t(i)], all.view().select(i), rtol, tag + what + "[" + std::to_string(i) + "]", valid);
  };
  each(out.encoder_hidden_states, "encoder_hidden_states", valid_rows(source_padding, d));
  each(out.decoder_hidden_states, "decoder_hidden_states", valid_rows(target_padding, d));
  each(out.encoder_attentions, "encoder_attentions", valid_queries(source_padding, heads, ls));
  each(out.decoder_attentions, "decoder_attentions", valid_queries(target_padding, heads, lt));
  each(out.cross_attentions, "cross_attentions", valid_queries(target_padding, heads, ls));
}

using Weights = NamedTensors;

// Writes into `out_dir` the case's config.json after edit_config and its model.safetensors after
// edit_weights (every tensor widened to F32, names and shapes as stored).
inline void write_case_variant(const std::string& name, const std::string& out_dir,
                               const std::function<void(nlohmann::json&)>& edit_config,
                               const std::function<void(Weights&)>& edit_weights = {}) {
  Weights weights = read_tensors(hf_case_dir(name) + "/model.safetensors");
  if (edit_weights) edit_weights(weights);
  write_case(out_dir, name, edit_config, weights);
}

// Succeeds when `message` (typically a load error) contains `part`, and prints both otherwise.
inline ::testing::AssertionResult contains(const std::string& message, const std::string& part) {
  if (message.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << message << "' lacks '" << part << "'";
}

// Moves a tensor to another name.
inline void rename(Weights& w, const std::string& from, const std::string& to) {
  auto node = w.extract(from);
  ASSERT_FALSE(node.empty()) << "no tensor " << from;
  node.key() = to;
  w.insert(std::move(node));
}

}  // namespace qkv::test
