#include "qkv/models/hf/gpt2.hpp"

#include "qkv/models/hf/load.hpp"
#include "support/hf_case.hpp"

namespace qkv {
namespace {

constexpr double kGpt2Tol = 1e-5;

DecoderModel load_gpt2_case(const std::string& dir) { return std::get<DecoderModel>(load(dir)); }

// Everything HF returns for a forward pass on the `group` inputs ("single" or "batch"), compared
// on valid positions only (the batch is right-padded).
void expect_gpt2_matches_reference(const std::string& case_name, const std::string& group) {
  const test::HfCase ref(case_name);
  const DecoderModel model = load_gpt2_case(ref.dir);
  const auto ids = ref.inputs.to_int64(group + ".input_ids");
  const auto mask = ref.inputs.to_int64(group + ".attention_mask");
  const auto padding = test::padding_from_mask(mask);
  const std::int64_t length = ids.dim(1);
  ForwardOptions options;
  options.output_attentions = options.output_hidden_states = true;
  const std::string what = case_name + " " + group + ".";
  test::for_each_isa([&](Isa) {
    const DecoderOutput out = model.forward(ids, mask, options);
    test::expect_close(out.logits, ref.expected.to_float(group + ".logits"), test::float32_reference_rtol(kGpt2Tol), what + "logits",
                       test::valid_rows(padding, 211));
    test::expect_close(out.last_hidden_state, ref.expected.to_float(group + ".last_hidden_state"), test::float32_reference_rtol(kGpt2Tol),
                       what + "last_hidden_state", test::valid_rows(padding, 32));
    test::expect_stack_close(out.hidden_states, ref.expected.to_float(group + ".hidden_states"), test::float32_reference_rtol(kGpt2Tol),
                             what + "hidden_states", test::valid_rows(padding, 32));
    test::expect_stack_close(out.attentions, ref.expected.to_float(group + ".attentions"), test::float32_reference_rtol(kGpt2Tol), what + "attentions",
                             test::valid_queries(padding, 4, length));
  });
}

TEST(HfGpt2, SingleMatchesHuggingFace) { expect_gpt2_matches_reference("gpt2_a", "single"); }
TEST(HfGpt2, PaddedBatchMatchesHuggingFace) { expect_gpt2_matches_reference("gpt2_a", "batch"); }
// F16 weights widened exactly: the references were computed in float32 from the rounded weights.
TEST(HfGpt2, Fp16SingleMatchesHuggingFace) { expect_gpt2_matches_reference("gpt2_a_fp16", "single"); }
TEST(HfGpt2, Fp16PaddedBatchMatchesHuggingFace) { expect_gpt2_matches_reference("gpt2_a_fp16", "batch"); }

TEST(HfGpt2, ConfigMapsOntoTheModel) {
  const DecoderModel model = load_gpt2_case(test::data_path("hf/gpt2_a"));
  EXPECT_EQ(model.config.vocab_size, 211);
  EXPECT_EQ(model.config.d_model, 32);
  EXPECT_EQ(model.config.num_heads, 4);
  EXPECT_EQ(model.config.ffn_dim, 128);  // n_inner null -> 4 * n_embd
  EXPECT_EQ(model.config.max_positions, 64);
  EXPECT_EQ(model.config.activation, Activation::gelu_tanh);  // gelu_new
  ASSERT_EQ(model.layers.layers.size(), 2u);
  EXPECT_EQ(model.layers.layers[0].placement, nn::NormPlacement::pre);
  // Tied: the LM head reads the token embedding itself, not a copy.
  EXPECT_EQ(model.lm_head.linear.weight.data(), model.input.tokens.weight.data());
}

// The original OpenAI checkpoints: no "transformer." prefix, plus the attention mask buffers.
TEST(HfGpt2, UnprefixedCheckpointWithMaskBuffersLoads) {
  const test::HfCase ref("gpt2_a");
  test::NamedTensors tensors;
  for (auto& [name, t] : test::read_tensors(ref.dir + "/model.safetensors"))
    tensors.emplace(name.substr(std::string("transformer.").size()), std::move(t));
  for (int i = 0; i < 2; ++i) {
    Tensor<float> causal({1, 1, 64, 64});
    for (std::int64_t q = 0; q < 64; ++q)
      for (std::int64_t k = 0; k <= q; ++k) causal(0, 0, q, k) = 1.0f;
    tensors.emplace("h." + std::to_string(i) + ".attn.bias", std::move(causal));
    tensors.emplace("h." + std::to_string(i) + ".attn.masked_bias", Tensor<float>(Shape{}, -1e4f));
  }
  test::TempDir tmp;
  test::write_case(tmp.path(), "gpt2_a", {}, tensors);
  const DecoderModel model = load_gpt2_case(tmp.path());
  const auto ids = ref.inputs.to_int64("batch.input_ids"), mask = ref.inputs.to_int64("batch.attention_mask");
  test::expect_close(model.forward(ids, mask).logits, ref.expected.to_float("batch.logits"), test::float32_reference_rtol(kGpt2Tol), "unprefixed gpt2 logits",
                     test::valid_rows(test::padding_from_mask(mask), 211));
}

// tie_word_embeddings false: lm_head.weight comes from the file (here 2 * wte, so logits double).
TEST(HfGpt2, UntiedLmHeadIsReadFromTheFile) {
  const test::HfCase ref("gpt2_a");
  test::NamedTensors tensors = test::read_tensors(ref.dir + "/model.safetensors");
  Tensor<float> head = Tensor<float>::copy_of(tensors.at("transformer.wte.weight"));
  for (std::int64_t i = 0; i < head.numel(); ++i) head.data()[i] *= 2.0f;
  tensors.emplace("lm_head.weight", std::move(head));
  test::TempDir tmp;
  test::write_case(tmp.path(), "gpt2_a", [](nlohmann::json& c) { c["tie_word_embeddings"] = false; }, tensors);
  const DecoderModel model = load_gpt2_case(tmp.path());
  EXPECT_NE(model.lm_head.linear.weight.data(), model.input.tokens.weight.data());
  const auto ids = ref.inputs.to_int64("single.input_ids");
  Tensor<float> doubled = ref.expected.to_float("single.logits");
  for (std::int64_t i = 0; i < doubled.numel(); ++i) doubled.data()[i] *= 2.0f;
  test::expect_close(model.forward(ids).logits, doubled, test::float32_reference_rtol(kGpt2Tol), "untied gpt2 logits");

  // Untied but not stored: an error naming the tensor.
  tensors.erase("lm_head.weight");
  test::write_case(tmp.path(), "gpt2_a", [](nlohmann::json& c) { c["tie_word_embeddings"] = false; }, tensors);
  const std::string message = test::error_of([&] { load_gpt2_case(tmp.path()); });
  EXPECT_NE(message.find("lm_head.weight"), std::string::npos) << message;
}

// scale_attn_by_inverse_layer_idx divides layer i's scores by i + 1 (HF GPT2Attention._attn):
// layer 0 is unchanged, layer 1's attention is flatter.
TEST(HfGpt2, InverseLayerIndexScalingDividesScoresPerLayer) {
  const test::HfCase ref("gpt2_a");
  test::TempDir tmp;
  test::write_case(tmp.path(), "gpt2_a", [](nlohmann::json& c) { c["scale_attn_by_inverse_layer_idx"] = true; },
                   test::read_tensors(ref.dir + "/model.safetensors"));
  const DecoderModel model = load_gpt2_case(tmp.path());
  const DecoderModel plain = load_gpt2_case(ref.dir);
  EXPECT_FLOAT_EQ(model.layers.layers[0].self_attn.scale, plain.layers.layers[0].self_attn.scale);
  EXPECT_FLOAT_EQ(model.layers.layers[1].self_attn.scale, plain.layers.layers[1].self_attn.scale / 2.0f);
  const auto ids = ref.inputs.to_int64("single.input_ids");
  const auto out = model.forward(ids, {}, ForwardOptions::with_attentions());
  const Tensor<float> attentions = ref.expected.to_float("single.attentions");
  test::expect_close(out.attentions[0], attentions.view().select(0), test::float32_reference_rtol(kGpt2Tol), "layer 0 attentions");
}

TEST(HfGpt2, OutOfRangeInputsAreErrors) {
  const DecoderModel model = load_gpt2_case(test::data_path("hf/gpt2_a"));
  Tensor<std::int64_t> ids({1, 3}, 5);
  ids(0, 1) = 211;  // vocab_size 211
  std::string message = test::error_of([&] { model.forward(ids); });
  EXPECT_NE(message.find("token id 211"), std::string::npos) << message;
  const Tensor<std::int64_t> too_long({1, 65}, 5);  // n_positions 64
  message = test::error_of([&] { model.forward(too_long); });
  EXPECT_NE(message.find("too long"), std::string::npos) << message;
  EXPECT_NO_THROW(model.forward(Tensor<std::int64_t>({1, 64}, 5)));
}

// Loads gpt2_a with config.json edited, expecting a qkv::Error that mentions every `needle`.
void expect_config_error(const std::function<void(nlohmann::json&)>& edit, const std::vector<std::string>& needles) {
  const test::HfCase ref("gpt2_a");
  test::TempDir tmp;
  test::write_case(tmp.path(), "gpt2_a", edit, test::read_tensors(ref.dir + "/model.safetensors"));
  const std::string message = test::error_of([&] { load(tmp.path()); });
  ASSERT_FALSE(message.empty()) << "expected a qkv::Error";
  for (const auto& needle : needles) EXPECT_NE(message.find(needle), std::string::npos) << message;
}

TEST(HfGpt2, InvalidConfigsAreErrorsNamingTheField) {
  expect_config_error([](nlohmann::json& c) { c["n_head"] = 5; }, {"config.json", "\"n_head\"", "\"n_embd\""});
  expect_config_error([](nlohmann::json& c) { c["n_layer"] = -1; }, {"config.json", "\"n_layer\""});
  expect_config_error([](nlohmann::json& c) { c["n_embd"] = 0; }, {"config.json", "\"n_embd\""});
  expect_config_error([](nlohmann::json& c) { c["n_head"] = "4"; }, {"config.json", "\"n_head\"", "integer"});
  expect_config_error([](nlohmann::json& c) { c["activation_function"] = "swiglu"; },
                      {"config.json", "\"activation_function\"", "swiglu"});
  expect_config_error([](nlohmann::json& c) { c["add_cross_attention"] = true; }, {"\"add_cross_attention\""});
}

TEST(HfGpt2, UnknownModelTypeListsTheSupportedOnes) {
  test::TempDir tmp;
  test::write_json(tmp.path() + "/config.json", {{"model_type", "gpt3"}});
  const std::string message = test::error_of([&] { load(tmp.path()); });
  EXPECT_NE(message.find("'gpt3'"), std::string::npos) << message;
  EXPECT_NE(message.find("gpt2"), std::string::npos) << message;
  EXPECT_NE(message.find("bert"), std::string::npos) << message;
}

TEST(HfGpt2, WeightErrorsNameTheTensor) {
  const test::HfCase ref("gpt2_a");
  const test::NamedTensors all = test::read_tensors(ref.dir + "/model.safetensors");
  test::TempDir tmp;
  auto load_error = [&](const std::function<void(nlohmann::json&)>& edit, const test::NamedTensors& tensors) {
    test::write_case(tmp.path(), "gpt2_a", edit, tensors);
    return test::error_of([&] { load(tmp.path()); });
  };

  // The config promises a layer the file does not hold.
  std::string message = load_error([](nlohmann::json& c) { c["n_layer"] = 3; }, all);
  EXPECT_NE(message.find("transformer.h.2."), std::string::npos) << message;

  // One tensor missing.
  test::NamedTensors tensors = test::read_tensors(ref.dir + "/model.safetensors");
  tensors.erase("transformer.h.1.mlp.c_fc.bias");
  message = load_error({}, tensors);
  EXPECT_NE(message.find("transformer.h.1.mlp.c_fc.bias"), std::string::npos) << message;

  // Wrong shape: names the tensor and both shapes.
  tensors = test::read_tensors(ref.dir + "/model.safetensors");
  tensors.insert_or_assign("transformer.h.0.attn.c_attn.weight", Tensor<float>({96, 32}));  // [out, in]: not Conv1D
  message = load_error({}, tensors);
  EXPECT_NE(message.find("transformer.h.0.attn.c_attn.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("[32, 96]"), std::string::npos) << message;

  // n_inner disagreeing with the stored MLP.
  message = load_error([](nlohmann::json& c) { c["n_inner"] = 100; }, all);
  EXPECT_NE(message.find("transformer.h.0.mlp.c_fc.weight"), std::string::npos) << message;

  // A tensor nothing uses (e.g. a classification head) is an error, not silently dropped.
  tensors = test::read_tensors(ref.dir + "/model.safetensors");
  tensors.emplace("score.weight", Tensor<float>({2, 32}));
  message = load_error({}, tensors);
  EXPECT_NE(message.find("score.weight"), std::string::npos) << message;

  // Fewer layers in the config than in the file leaves tensors unused.
  message = load_error([](nlohmann::json& c) { c["n_layer"] = 1; }, all);
  EXPECT_NE(message.find("transformer.h.1."), std::string::npos) << message;
}

}  // namespace
}  // namespace qkv
