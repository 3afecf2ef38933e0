#include "qkv/models/hf/bert.hpp"

#include <cmath>

#include "qkv/models/hf/load.hpp"
#include "support/hf_case.hpp"

namespace qkv {
namespace {

constexpr double kBertTol = 1e-5;
constexpr std::int64_t kVocab = 199, kWidth = 32;

EncoderModel load_bert_case(const std::string& dir) { return std::get<EncoderModel>(load(dir)); }

ForwardOptions all_outputs(const Tensor<std::int64_t>& token_types) {
  ForwardOptions options;
  options.output_attentions = options.output_hidden_states = true;
  options.token_type_ids = token_types.view();
  return options;
}

// Everything BertModel returns for the `group` inputs ("single" or "batch", with token_type_ids),
// compared on valid positions only (the batch is right-padded).
void expect_bert_matches_reference(const std::string& group) {
  const test::HfCase ref("bert_a");
  const EncoderModel model = load_bert_case(ref.dir);
  const auto ids = ref.inputs.to_int64(group + ".input_ids");
  const auto mask = ref.inputs.to_int64(group + ".attention_mask");
  const auto types = ref.inputs.to_int64(group + ".token_type_ids");
  const auto padding = test::padding_from_mask(mask);
  const std::string what = "bert_a " + group + ".";
  test::for_each_isa([&](Isa) {
    const EncoderOutput out = model.forward(ids, mask, all_outputs(types));
    test::expect_close(out.last_hidden_state, ref.expected.to_float(group + ".last_hidden_state"), test::float32_reference_rtol(kBertTol),
                       what + "last_hidden_state", test::valid_rows(padding, kWidth));
    test::expect_stack_close(out.hidden_states, ref.expected.to_float(group + ".hidden_states"), test::float32_reference_rtol(kBertTol),
                             what + "hidden_states", test::valid_rows(padding, kWidth));
    test::expect_stack_close(out.attentions, ref.expected.to_float(group + ".attentions"), test::float32_reference_rtol(kBertTol), what + "attentions",
                             test::valid_queries(padding, 4, ids.dim(1)));
    // The pooler reads position 0, which is valid in every row.
    test::expect_close(out.pooler_output, ref.expected.to_float(group + ".pooler_output"), test::float32_reference_rtol(kBertTol), what + "pooler_output");
    EXPECT_TRUE(out.logits.view().empty());  // BertModel has no head
  });
}

TEST(HfBert, SingleMatchesHuggingFace) { expect_bert_matches_reference("single"); }
TEST(HfBert, PaddedBatchMatchesHuggingFace) { expect_bert_matches_reference("batch"); }

TEST(HfBert, TokenTypesDefaultToZero) {
  const test::HfCase ref("bert_a");
  const EncoderModel model = load_bert_case(ref.dir);
  const auto ids = ref.inputs.to_int64("single.input_ids");
  const Tensor<std::int64_t> zeros(ids.shape(), 0);
  ForwardOptions options;
  options.token_type_ids = zeros.view();
  const auto implicit = model.forward(ids), explicit_zeros = model.forward(ids, {}, options);
  for (std::int64_t i = 0; i < implicit.last_hidden_state.numel(); ++i)
    ASSERT_EQ(implicit.last_hidden_state.data()[i], explicit_zeros.last_hidden_state.data()[i]);
}

TEST(HfBert, ConfigMapsOntoTheModel) {
  const EncoderModel model = load_bert_case(test::data_path("hf/bert_a"));
  EXPECT_EQ(model.config.vocab_size, kVocab);
  EXPECT_EQ(model.config.ffn_dim, 37);
  EXPECT_EQ(model.config.activation, Activation::gelu_erf);  // "gelu" is the exact erf GELU
  EXPECT_FLOAT_EQ(model.config.norm_eps, 1e-12f);
  ASSERT_EQ(model.encoder.layers.size(), 2u);
  EXPECT_EQ(model.encoder.layers[0].placement, nn::NormPlacement::post);
  EXPECT_EQ(model.input.token_types.vocab_size(), 2);
  EXPECT_FALSE(model.pooler.weight.empty());
  EXPECT_TRUE(model.mlm_head.empty());
  EXPECT_TRUE(model.classifier.weight.empty());
}

// bert_a's tensors under the "bert." prefix, as the models with heads store them.
test::NamedTensors prefixed_bert_a() {
  test::NamedTensors out;
  for (auto& [name, t] : test::read_tensors(test::data_path("hf/bert_a/model.safetensors")))
    out.emplace("bert." + name, std::move(t));
  return out;
}

double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

// A BertForPreTraining checkpoint in the shape of bert-base-uncased: the encoder under "bert.",
// LayerNorm parameters named gamma/beta (TensorFlow names), the persistent position_ids buffer,
// the masked-LM head with a tied decoder, and the next-sentence head (unused). The MLM logits are
// checked against a float64 evaluation of HF's BertLMPredictionHead on the reference hidden states.
TEST(HfBert, MaskedLmHeadOnAPretrainingCheckpoint) {
  const test::HfCase ref("bert_a");
  test::NamedTensors tensors;
  for (auto& [name, t] : prefixed_bert_a()) {
    std::string renamed = name;
    if (name.find("LayerNorm.weight") != std::string::npos) renamed.replace(renamed.size() - 6, 6, "gamma");
    if (name.find("LayerNorm.bias") != std::string::npos) renamed.replace(renamed.size() - 4, 4, "beta");
    tensors.emplace(renamed, std::move(t));
  }
  tensors.emplace("cls.predictions.transform.dense.weight", test::pseudo_random({kWidth, kWidth}, 1, 0.3f));
  tensors.emplace("cls.predictions.transform.dense.bias", test::pseudo_random({kWidth}, 2, 0.1f));
  Tensor<float> gain = test::pseudo_random({kWidth}, 3, 0.2f);
  for (std::int64_t i = 0; i < kWidth; ++i) gain.data()[i] += 1.0f;
  tensors.emplace("cls.predictions.transform.LayerNorm.gamma", std::move(gain));
  tensors.emplace("cls.predictions.transform.LayerNorm.beta", test::pseudo_random({kWidth}, 4, 0.1f));
  tensors.emplace("cls.predictions.bias", test::pseudo_random({kVocab}, 5, 0.1f));
  tensors.emplace("cls.seq_relationship.weight", test::pseudo_random({2, kWidth}, 6, 0.1f));
  tensors.emplace("cls.seq_relationship.bias", test::pseudo_random({2}, 7, 0.1f));
  Tensor<std::int64_t> position_ids({1, 64});
  for (std::int64_t i = 0; i < 64; ++i) position_ids(0, i) = i;
  std::map<std::string, Tensor<std::int64_t>> buffers;
  buffers.emplace("bert.embeddings.position_ids", std::move(position_ids));
  test::TempDir tmp;
  test::write_case(tmp.path(), "bert_a", [](nlohmann::json& c) { c["architectures"] = {"BertForPreTraining"}; }, tensors,
                   buffers);
  const EncoderModel model = load_bert_case(tmp.path());
  ASSERT_FALSE(model.mlm_head.empty());
  EXPECT_EQ(model.mlm_head.decoder.linear.weight.data(), model.input.tokens.weight.data());  // tied

  const auto ids = ref.inputs.to_int64("batch.input_ids"), mask = ref.inputs.to_int64("batch.attention_mask");
  const auto types = ref.inputs.to_int64("batch.token_type_ids");
  const auto padding = test::padding_from_mask(mask);
  // logits = LayerNorm(gelu(h W^T + b)) E^T + bias, with h = the reference last_hidden_state.
  const Tensor<float> h = ref.expected.to_float("batch.last_hidden_state");
  const auto& W = tensors.at("cls.predictions.transform.dense.weight");
  const auto& b = tensors.at("cls.predictions.transform.dense.bias");
  const auto& g = tensors.at("cls.predictions.transform.LayerNorm.gamma");
  const auto& beta = tensors.at("cls.predictions.transform.LayerNorm.beta");
  const auto& E = tensors.at("bert.embeddings.word_embeddings.weight");
  const auto& bias = tensors.at("cls.predictions.bias");
  Tensor<float> expected({h.dim(0), h.dim(1), kVocab});
  for (std::int64_t s = 0; s < h.dim(0); ++s)
    for (std::int64_t t = 0; t < h.dim(1); ++t) {
      std::vector<double> x(kWidth);
      double mean = 0, var = 0;
      for (std::int64_t o = 0; o < kWidth; ++o) {
        double acc = b(o);
        for (std::int64_t i = 0; i < kWidth; ++i) acc += double(W(o, i)) * h(s, t, i);
        x[std::size_t(o)] = gelu(acc);
        mean += x[std::size_t(o)] / kWidth;
      }
      for (double v : x) var += (v - mean) * (v - mean) / kWidth;
      for (std::int64_t o = 0; o < kWidth; ++o)
        x[std::size_t(o)] = (x[std::size_t(o)] - mean) / std::sqrt(var + 1e-12) * g(o) + beta(o);
      for (std::int64_t v = 0; v < kVocab; ++v) {
        double acc = bias(v);
        for (std::int64_t i = 0; i < kWidth; ++i) acc += x[std::size_t(i)] * E(v, i);
        expected(s, t, v) = float(acc);
      }
    }
  test::for_each_isa([&](Isa) {
    ForwardOptions options;
    options.token_type_ids = types.view();
    const EncoderOutput out = model.forward(ids, mask, options);
    test::expect_close(out.last_hidden_state, h, test::float32_reference_rtol(kBertTol), "pretraining checkpoint last_hidden_state",
                       test::valid_rows(padding, kWidth));
    test::expect_close(out.pooler_output, ref.expected.to_float("batch.pooler_output"), test::float32_reference_rtol(kBertTol),
                       "pretraining checkpoint pooler_output");
    test::expect_close(out.logits, expected, test::float32_reference_rtol(kBertTol), "masked-LM logits", test::valid_rows(padding, kVocab));
  });
  EXPECT_THROW(model.classify(ids, mask), Error);
}

// BertForSequenceClassification: classifier(pooler_output), num_labels from id2label.
TEST(HfBert, SequenceClassificationOnThePooledOutput) {
  const test::HfCase ref("bert_a");
  test::NamedTensors tensors = prefixed_bert_a();
  tensors.emplace("classifier.weight", test::pseudo_random({3, kWidth}, 8, 0.5f));
  tensors.emplace("classifier.bias", test::pseudo_random({3}, 9, 0.1f));
  test::TempDir tmp;
  test::write_case(tmp.path(), "bert_a",
                   [](nlohmann::json& c) {
                     c["architectures"] = {"BertForSequenceClassification"};
                     c["id2label"] = {{"0", "neg"}, {"1", "neutral"}, {"2", "pos"}};
                     c["label2id"] = {{"neg", 0}, {"neutral", 1}, {"pos", 2}};
                   },
                   tensors);
  const EncoderModel model = load_bert_case(tmp.path());
  EXPECT_EQ(model.config.num_labels, 3);

  const auto ids = ref.inputs.to_int64("batch.input_ids"), mask = ref.inputs.to_int64("batch.attention_mask");
  const auto types = ref.inputs.to_int64("batch.token_type_ids");
  const Tensor<float> pooled = ref.expected.to_float("batch.pooler_output");
  const auto& W = tensors.at("classifier.weight");
  const auto& b = tensors.at("classifier.bias");
  Tensor<float> logits({2, 3}), probs({2, 3});
  for (std::int64_t s = 0; s < 2; ++s) {
    double row[3], max = -1e30, sum = 0;
    for (std::int64_t c = 0; c < 3; ++c) {
      row[c] = b(c);
      for (std::int64_t i = 0; i < kWidth; ++i) row[c] += double(W(c, i)) * pooled(s, i);
      logits(s, c) = float(row[c]);
      max = std::max(max, row[c]);
    }
    for (double v : row) sum += std::exp(v - max);
    for (std::int64_t c = 0; c < 3; ++c) probs(s, c) = float(std::exp(row[c] - max) / sum);
  }
  ForwardOptions options;
  options.token_type_ids = types.view();
  test::for_each_isa([&](Isa) {
    test::expect_close(model.forward(ids, mask, options).logits, logits, test::float32_reference_rtol(kBertTol), "sequence classification logits");
    test::expect_close(model.classify(ids, mask, options), probs, test::float32_reference_rtol(kBertTol), "sequence classification probabilities");
  });

  // The classifier's shape must agree with id2label.
  test::write_case(tmp.path(), "bert_a", [](nlohmann::json& c) { c["id2label"] = {{"0", "a"}, {"1", "b"}}; }, tensors);
  const std::string message = test::error_of([&] { load(tmp.path()); });
  EXPECT_NE(message.find("classifier.weight"), std::string::npos) << message;
}

// Loads bert_a's weights (as `tensors`) with config.json edited; returns the qkv::Error's message.
std::string bert_load_error(const std::function<void(nlohmann::json&)>& edit, const test::NamedTensors& tensors) {
  test::TempDir tmp;
  test::write_case(tmp.path(), "bert_a", edit, tensors);
  return test::error_of([&] { load(tmp.path()); });
}

void expect_mentions(const std::string& message, const std::vector<std::string>& needles) {
  ASSERT_FALSE(message.empty()) << "expected a qkv::Error";
  for (const auto& needle : needles) EXPECT_NE(message.find(needle), std::string::npos) << message;
}

TEST(HfBert, InvalidConfigsAreErrorsNamingTheField) {
  const test::NamedTensors tensors = test::read_tensors(test::data_path("hf/bert_a/model.safetensors"));
  expect_mentions(bert_load_error([](nlohmann::json& c) { c["num_attention_heads"] = 5; }, tensors),
                  {"config.json", "\"num_attention_heads\"", "\"hidden_size\""});
  expect_mentions(bert_load_error([](nlohmann::json& c) { c["num_hidden_layers"] = -2; }, tensors),
                  {"config.json", "\"num_hidden_layers\""});
  expect_mentions(bert_load_error([](nlohmann::json& c) { c["hidden_act"] = "mish"; }, tensors), {"\"hidden_act\"", "mish"});
  expect_mentions(bert_load_error([](nlohmann::json& c) { c["position_embedding_type"] = "relative_key"; }, tensors),
                  {"\"position_embedding_type\"", "relative_key"});
  expect_mentions(bert_load_error([](nlohmann::json& c) { c["is_decoder"] = true; }, tensors), {"\"is_decoder\""});
  expect_mentions(bert_load_error([](nlohmann::json& c) { c["layer_norm_eps"] = "tiny"; }, tensors), {"\"layer_norm_eps\""});
}

TEST(HfBert, WeightErrorsNameTheTensor) {
  const test::NamedTensors all = test::read_tensors(test::data_path("hf/bert_a/model.safetensors"));
  // More layers than stored.
  expect_mentions(bert_load_error([](nlohmann::json& c) { c["num_hidden_layers"] = 3; }, all), {"encoder.layer.2."});
  // intermediate_size disagreeing with the file: names the tensor and both shapes.
  expect_mentions(bert_load_error([](nlohmann::json& c) { c["intermediate_size"] = 40; }, all),
                  {"encoder.layer.0.intermediate.dense.weight", "[40, 32]", "[37, 32]"});
  // type_vocab_size disagreeing with the file.
  expect_mentions(bert_load_error([](nlohmann::json& c) { c["type_vocab_size"] = 1; }, all),
                  {"embeddings.token_type_embeddings.weight"});
  // A missing tensor.
  test::NamedTensors tensors = test::read_tensors(test::data_path("hf/bert_a/model.safetensors"));
  tensors.erase("encoder.layer.1.attention.output.LayerNorm.bias");
  expect_mentions(bert_load_error({}, tensors), {"encoder.layer.1.attention.output.LayerNorm.bias"});
  // An unexpected tensor.
  tensors = test::read_tensors(test::data_path("hf/bert_a/model.safetensors"));
  tensors.emplace("qa_outputs.weight", Tensor<float>({2, kWidth}));
  expect_mentions(bert_load_error({}, tensors), {"qa_outputs.weight", "not used"});
  // A per-token classifier (BertForTokenClassification) has no pooler.
  tensors = prefixed_bert_a();
  tensors.erase("bert.pooler.dense.weight");
  tensors.erase("bert.pooler.dense.bias");
  tensors.emplace("classifier.weight", Tensor<float>({2, kWidth}));
  tensors.emplace("classifier.bias", Tensor<float>({2}));
  expect_mentions(bert_load_error({}, tensors), {"classifier.weight", "pooler"});
}

TEST(HfBert, OutOfRangeInputsAreErrors) {
  const EncoderModel model = load_bert_case(test::data_path("hf/bert_a"));
  Tensor<std::int64_t> ids({1, 3}, 5);
  ids(0, 2) = kVocab;
  std::string message = test::error_of([&] { model.forward(ids); });
  EXPECT_NE(message.find("token id 199"), std::string::npos) << message;
  ids(0, 2) = 5;
  Tensor<std::int64_t> types({1, 3}, 0);
  types(0, 1) = 2;  // type_vocab_size 2
  ForwardOptions options;
  options.token_type_ids = types.view();
  message = test::error_of([&] { model.forward(ids, {}, options); });
  EXPECT_NE(message.find("out of range"), std::string::npos) << message;
  const Tensor<std::int64_t> wrong_types({1, 4}, 0);
  options.token_type_ids = wrong_types.view();
  message = test::error_of([&] { model.forward(ids, {}, options); });
  EXPECT_NE(message.find("token_type_ids"), std::string::npos) << message;
  const Tensor<std::int64_t> too_long({1, 65}, 5);  // max_position_embeddings 64
  message = test::error_of([&] { model.forward(too_long); });
  EXPECT_NE(message.find("too long"), std::string::npos) << message;
}

}  // namespace
}  // namespace qkv
