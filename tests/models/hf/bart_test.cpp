#include "qkv/models/hf/bart.hpp"

#include "support/hf_seq2seq.hpp"

namespace qkv {
namespace {

// tests/data/hf/bart_a: BartForConditionalGeneration, vocab 173, d_model 32, 2 + 2 layers,
// 4 heads, ffn 37, max_position_embeddings 64, gelu, scale_embedding false, tied embeddings.
constexpr double kBartRtol = 1e-5;
const std::string kBartCase = "bart_a";

std::string bart_load_error(const std::function<void(nlohmann::json&)>& config, const std::function<void(test::Weights&)>& weights) {
  test::TempDir dir;
  test::write_case_variant(kBartCase, dir.path(), config, weights);
  return test::error_of([&] { test::load_seq2seq(dir.path()); });
}

TEST(HfBart, LoadsAsAnEncoderDecoderModel) {
  const auto m = test::load_seq2seq(test::hf_case_dir(kBartCase));
  EXPECT_EQ(m.encoder_input.positions.offset, 2);
  EXPECT_EQ(m.encoder_input.positions.max_positions(), 64);
  EXPECT_FALSE(m.encoder_input.norm.weight.empty());  // layernorm_embedding
  EXPECT_EQ(m.encoder_input.tokens.scale, 1.0f);      // scale_embedding false
  EXPECT_EQ(m.lm_head.vocab_size(), 173);
  EXPECT_TRUE(m.encoder_position_bias.empty());
  EXPECT_EQ(m.decoder.layers[0].placement, nn::NormPlacement::post);
}

TEST(HfBart, SingleSequenceMatchesHf) {
  const auto model = test::load_seq2seq(test::hf_case_dir(kBartCase));
  test::for_each_isa([&](Isa) { test::expect_seq2seq_matches(model, kBartCase, "single", test::float32_reference_rtol(kBartRtol)); });
}

TEST(HfBart, RightPaddedBatchMatchesHf) {
  const auto model = test::load_seq2seq(test::hf_case_dir(kBartCase));
  test::for_each_isa([&](Isa) { test::expect_seq2seq_matches(model, kBartCase, "batch", test::float32_reference_rtol(kBartRtol)); });
}

TEST(HfBart, MissingFinalLogitsBiasCountsAsZero) {
  // HF zero-fills the final_logits_bias buffer when a file lacks it.
  test::TempDir dir;
  Tensor<float> bias;
  test::write_case_variant(kBartCase, dir.path(), {}, [&](test::Weights& w) {
    bias = std::move(w.at("final_logits_bias"));
    w.erase("final_logits_bias");
  });
  const auto model = test::load_seq2seq(dir.path());
  const auto inputs = test::open_data("hf/bart_a/inputs.safetensors");
  const auto out = model.forward(inputs.to_int64("single.input_ids"), {}, inputs.to_int64("single.decoder_input_ids"));
  Tensor<float> expected = test::open_data("hf/bart_a/expected.safetensors").to_float("single.logits");
  for (std::int64_t t = 0; t < 5; ++t)
    for (std::int64_t v = 0; v < 173; ++v) expected(0, t, v) -= bias(0, v);
  test::expect_close(out.logits, expected, test::float32_reference_rtol(kBartRtol), "logits without final_logits_bias");
}

TEST(HfBart, UntiedLmHeadAndEmbeddingAliases) {
  // tie_word_embeddings false: lm_head.weight is its own tensor. The embedding is stored under
  // model.encoder.embed_tokens (another name of model.shared) and also under model.decoder's.
  test::TempDir dir;
  test::write_case_variant(
      kBartCase, dir.path(), [](nlohmann::json& c) { c["tie_word_embeddings"] = false; },
      [](test::Weights& w) {
        w.emplace("lm_head.weight", Tensor<float>::copy_of(w.at("model.shared.weight")));
        w.emplace("model.decoder.embed_tokens.weight", Tensor<float>::copy_of(w.at("model.shared.weight")));
        test::rename(w, "model.shared.weight", "model.encoder.embed_tokens.weight");
      });
  const auto model = test::load_seq2seq(dir.path());
  EXPECT_NE(model.lm_head.linear.weight.data(), model.decoder_input.tokens.weight.data());
  test::expect_seq2seq_matches(model, kBartCase, "batch", test::float32_reference_rtol(kBartRtol));
}

TEST(HfBart, LoadErrorsNameWhatIsWrong) {
  const std::string fc1 = "model.decoder.layers.1.fc1.bias";
  EXPECT_TRUE(test::contains(bart_load_error({}, [&](test::Weights& w) { w.erase(fc1); }), "no tensor '" + fc1 + "'"));
  EXPECT_TRUE(test::contains(bart_load_error({}, [&](test::Weights& w) { w[fc1] = Tensor<float>({38}); }),
                       "tensor '" + fc1 + "': expected shape [37], got [38]"));
  const std::string positions = "model.encoder.embed_positions.weight";
  EXPECT_TRUE(test::contains(bart_load_error({}, [&](test::Weights& w) { w[positions] = Tensor<float>({64, 32}); }),
                       "expected shape [66, 32]"));
  EXPECT_TRUE(test::contains(bart_load_error({}, [&](test::Weights& w) { w.erase("model.shared.weight"); }), "model.shared.weight"));
  EXPECT_TRUE(test::contains(bart_load_error({}, [](test::Weights& w) { w.emplace("model.encoder.layers.2.fc1.bias", Tensor<float>({37})); }),
                       "model.encoder.layers.2.fc1.bias"));

  EXPECT_TRUE(test::contains(bart_load_error([](nlohmann::json& c) { c["decoder_attention_heads"] = 5; }, {}),
                       "\"decoder_attention_heads\" (5) does not divide d_model (32)"));
  EXPECT_TRUE(test::contains(bart_load_error([](nlohmann::json& c) { c["encoder_ffn_dim"] = 0; }, {}), "\"encoder_ffn_dim\" must be > 0"));
  EXPECT_TRUE(test::contains(bart_load_error([](nlohmann::json& c) { c["activation_function"] = "gelu_fancy"; }, {}),
                       "\"activation_function\": unsupported activation 'gelu_fancy'"));
  EXPECT_TRUE(test::contains(bart_load_error([](nlohmann::json& c) { c["max_position_embeddings"] = "64"; }, {}),
                       "\"max_position_embeddings\" must be an integer"));
}

TEST(HfBart, ForwardErrorsNameWhatIsWrong) {
  const auto model = test::load_seq2seq(test::hf_case_dir(kBartCase));
  Tensor<std::int64_t> ids({1, 4}, 7), bad({1, 4}, 7);
  bad(0, 2) = 173;
  EXPECT_TRUE(test::contains(test::error_of([&] { model.forward(bad, {}, ids); }), "token id 173 at [0, 2] is out of range"));
  // 65 source or target positions do not fit the 64 learned ones.
  Tensor<std::int64_t> long_ids({1, 65}, 7), fits({1, 64}, 7);
  const std::string too_long = "position 64 is outside the model's 64 position embeddings";
  EXPECT_TRUE(test::contains(test::error_of([&] { model.forward(long_ids, {}, ids); }), too_long));
  EXPECT_TRUE(test::contains(test::error_of([&] { model.forward(ids, {}, long_ids); }), too_long));
  EXPECT_EQ(test::error_of([&] { model.forward(fits, {}, fits); }), "");
}

}  // namespace
}  // namespace qkv
