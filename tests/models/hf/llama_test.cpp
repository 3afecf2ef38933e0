#include "qkv/models/hf/llama.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "qkv/models/hf/load.hpp"
#include "support/fixture_model.hpp"
#include "support/reference.hpp"

namespace qkv {
namespace {

namespace fs = std::filesystem;

// A LLaMA folder with its inputs and expected outputs: tests/data/hf/<case> (transformers v4.37.2,
// see the shared refs README) or tests/data/fixtures/llama_<variant> (make_rope_fixtures.py).
struct LlamaCase {
  std::string dir;
  io::SafetensorsFile inputs, expected;
  DecoderModel model;
  explicit LlamaCase(const std::string& folder)
      : dir(test::data_path(folder)),
        inputs(io::SafetensorsFile::open(dir + "/inputs.safetensors")),
        expected(io::SafetensorsFile::open(dir + "/expected.safetensors")),
        model(std::get<DecoderModel>(load(dir))) {}
};

// logits, last_hidden_state and (when the reference has them) hidden_states and attentions of the
// `group` inputs (single or batch), at positions whose attention_mask is 1, on every ISA.
void expect_llama_matches_reference(const std::string& folder, const std::string& group) {
  LlamaCase c(folder);
  const auto ids = c.inputs.to_int64(group + ".input_ids"), mask = c.inputs.to_int64(group + ".attention_mask");
  const auto padding = test::padding_of(mask);
  const std::int64_t vocab = c.model.config.vocab_size, d = c.model.config.d_model, heads = c.model.config.num_heads,
                     length = ids.dim(1);
  const bool full = c.expected.contains(group + ".hidden_states");
  ForwardOptions options;
  options.output_attentions = options.output_hidden_states = full;
  const std::string tag = folder + " " + group + ".";
  test::for_each_isa([&](Isa) {
    const DecoderOutput out = c.model.forward(ids, mask, options);
    test::expect_close(out.logits, c.expected.to_float(group + ".logits"), test::float32_reference_rtol(1e-5), tag + "logits", test::valid_rows(padding, vocab));
    test::expect_close(out.last_hidden_state, c.expected.to_float(group + ".last_hidden_state"), test::float32_reference_rtol(1e-5),
                       tag + "last_hidden_state", test::valid_rows(padding, d));
    if (!full) return;
    // HF's hidden_states: [0] = embeddings, [i] = output of layer i-1, [n] = after the final norm.
    const Tensor<float> hidden = c.expected.to_float(group + ".hidden_states");
    ASSERT_EQ(std::int64_t(out.hidden_states.size()), hidden.dim(0));
    for (std::int64_t i = 0; i < hidden.dim(0); ++i)
      test::expect_close(out.hidden_states[std::size_t(i)], hidden.view().select(i), test::float32_reference_rtol(1e-5),
                         tag + "hidden_states[" + std::to_string(i) + "]", test::valid_rows(padding, d));
    const Tensor<float> attentions = c.expected.to_float(group + ".attentions");
    ASSERT_EQ(std::int64_t(out.attentions.size()), attentions.dim(0));
    for (std::int64_t i = 0; i < attentions.dim(0); ++i)
      test::expect_close(out.attentions[std::size_t(i)], attentions.view().select(i), test::float32_reference_rtol(1e-5),
                         tag + "attentions[" + std::to_string(i) + "]", test::valid_queries(padding, heads, length));
  });
}

TEST(HfLlama, LlamaASingleMatchesTransformers) { expect_llama_matches_reference("hf/llama_a", "single"); }
TEST(HfLlama, LlamaABatchMatchesTransformers) { expect_llama_matches_reference("hf/llama_a", "batch"); }
TEST(HfLlama, LlamaGqaSingleMatchesTransformers) { expect_llama_matches_reference("hf/llama_gqa", "single"); }
TEST(HfLlama, LlamaGqaBatchMatchesTransformers) { expect_llama_matches_reference("hf/llama_gqa", "batch"); }

// Beyond the transformers cases: head_dim != hidden/heads with biases, GQA, YaRN and tied embeddings;
// dynamic NTK past max_position_embeddings (batch only); llama3 with a blended frequency.
TEST(HfLlama, HeadDimBiasesAndYarnMatchTheReimplementation) {
  for (const char* g : {"single", "batch"}) expect_llama_matches_reference("fixtures/llama_headdim_yarn", g);
}
TEST(HfLlama, DynamicNtkMatchesTheReimplementation) {
  for (const char* g : {"single", "batch"}) expect_llama_matches_reference("fixtures/llama_dynamic", g);
}
TEST(HfLlama, Llama3RopeMatchesTheReimplementation) {
  for (const char* g : {"single", "batch"}) expect_llama_matches_reference("fixtures/llama_llama3", g);
}

TEST(HfLlama, ReadsTheConfig) {
  const LlamaCase a("hf/llama_a"), gqa("hf/llama_gqa"), wide("fixtures/llama_headdim_yarn");
  EXPECT_EQ(a.model.config.kv_heads(), 4);
  EXPECT_NE(a.model.lm_head.linear.weight.data(), a.model.input.tokens.weight.data());  // untied
  EXPECT_EQ(gqa.model.config.kv_heads(), 2);
  EXPECT_EQ(gqa.model.layers.layers.size(), 3u);
  EXPECT_EQ(gqa.model.lm_head.linear.weight.data(), gqa.model.input.tokens.weight.data());  // tied
  EXPECT_FLOAT_EQ(gqa.model.config.norm_eps, 1e-5f);
  const auto& attn = wide.model.layers.layers[0].self_attn;
  EXPECT_EQ(wide.model.config.head_dim(), 16);
  EXPECT_EQ(attn.head_dim(), 16);
  EXPECT_EQ(attn.q_proj.out_features(), 64);  // 4 heads x 16 from a width of 32
  EXPECT_FALSE(attn.q_proj.bias.empty());
  EXPECT_FLOAT_EQ(attn.rotary.attention_factor, float(0.1 * std::log(4.0) + 1.0));
}

TEST(HfLlama, PaddingNeverChangesASequence) {
  for (const char* folder : {"hf/llama_a", "hf/llama_gqa"}) {
    const LlamaCase c(folder);
    const auto ids = c.inputs.to_int64("batch.input_ids"), mask = c.inputs.to_int64("batch.attention_mask");
    const auto batch = c.model.forward(ids, mask);
    for (std::int64_t b = 0; b < ids.dim(0); ++b) {
      const std::int64_t n = test::valid_length(mask, b);
      const auto alone = c.model.forward(test::row_alone(ids, b, n));
      test::expect_row_bitwise_equal(batch.logits, b, alone.logits, n, std::string(folder) + " logits row " + std::to_string(b));
    }
  }
}

TEST(HfLlama, PositionIdsPlaceTheTokens) {
  const LlamaCase c("hf/llama_a");
  const auto ids = c.inputs.to_int64("single.input_ids");
  const auto plain = c.model.forward(ids);
  Tensor<std::int64_t> positions({1, 7});
  ForwardOptions options;
  options.position_ids = positions.view();
  for (std::int64_t t = 0; t < 7; ++t) positions(0, t) = t;
  test::expect_close(c.model.forward(ids, {}, options).logits, plain.logits, 0.0, "explicit 0..L-1");
  // Rotary scores depend on relative positions only: shifting every token (as a KV cache of 100
  // tokens would) changes nothing but rounding.
  for (std::int64_t t = 0; t < 7; ++t) positions(0, t) = 100 + t;
  const auto shifted = c.model.forward(ids, {}, options);
  test::expect_close(shifted.logits, plain.logits, 1e-4, "positions shifted by 100");
  EXPECT_NE(shifted.logits(0, 6, 0), plain.logits(0, 6, 0));  // the positions did reach the rotary
  for (std::int64_t t = 0; t < 7; ++t) positions(0, t) = 0;  // all tokens at one place: order is lost
  EXPECT_GT(std::fabs(c.model.forward(ids, {}, options).logits(0, 6, 0) - plain.logits(0, 6, 0)), 1e-3f);
}

TEST(HfLlama, RopeScalingFromConfigJson) {
  // The config.json forms of fixtures/rope_scaling's cases (legacy "type" keys included) must give
  // the frequencies of transformers' formulas.
  const auto f = test::open_data("fixtures/rope_scaling.safetensors");
  int checked = 0;
  for (const auto& [name, text] : f.metadata()) {
    if (name == "case") continue;
    SCOPED_TRACE(name);
    const io::JsonConfig config(nlohmann::json::parse(text), name);
    const auto rope = nn::RotaryEmbedding::make(config.integer("head_dim"), config.number("rope_theta"),
                                                config.integer("max_position_embeddings"), hf::rope_scaling_from(config));
    const std::vector<float> inv = rope.frequencies(config.integer_or("seq_len", 1));
    const Tensor<float> ref = f.to_float(name + ".inv_freq");
    ASSERT_EQ(std::int64_t(inv.size()), ref.numel());
    for (std::int64_t i = 0; i < ref.numel(); ++i) EXPECT_LE(std::fabs(inv[std::size_t(i)] - ref(i)), 2.4e-7 * std::fabs(ref(i)));
    EXPECT_FLOAT_EQ(rope.attention_factor, f.to_float(name + ".attention_factor")(0));
    ++checked;
  }
  EXPECT_EQ(checked, 16);
}

// A copy of tests/data/hf/llama_a in a temporary folder, with its config and tensors edited.
class EditedLlama {
 public:
  using Tensors = std::map<std::string, Tensor<float>>;
  EditedLlama(const std::function<void(nlohmann::json&)>& edit_config, const std::function<void(Tensors&)>& edit_tensors = {}) {
    const std::string source = test::data_path("hf/llama_a");
    dir_ = (fs::temp_directory_path() / ("qkv_llama_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++))).string();
    fs::create_directories(dir_);
    nlohmann::json config = io::JsonConfig::load(source + "/config.json").json();
    edit_config(config);
    std::ofstream(dir_ + "/config.json") << config.dump(2);
    const auto file = io::SafetensorsFile::open(source + "/model.safetensors");
    Tensors tensors;
    for (const std::string& name : file.names()) tensors.emplace(name, file.to_float(name));
    if (edit_tensors) edit_tensors(tensors);
    std::vector<std::pair<std::string, TensorView<const float>>> views;
    for (const auto& [name, t] : tensors) views.emplace_back(name, t.view());
    io::write_safetensors(dir_ + "/model.safetensors", views, {}, {{"format", "pt"}});
  }
  ~EditedLlama() { fs::remove_all(dir_); }
  const std::string& dir() const { return dir_; }

  // The message of the qkv::Error that loading throws ("" if none).
  std::string load_error() const {
    try {
      load(dir_);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string dir_;
};

void expect_error(const std::string& message, const std::vector<std::string>& parts) {
  EXPECT_FALSE(message.empty()) << "expected a qkv::Error";
  for (const auto& p : parts) EXPECT_NE(message.find(p), std::string::npos) << "'" << p << "' not in: " << message;
}

TEST(HfLlamaErrors, HeadsThatDoNotDivideTheWidth) {
  EditedLlama m([](nlohmann::json& c) { c["num_attention_heads"] = 5, c["num_key_value_heads"] = 5; });
  expect_error(m.load_error(), {"config.json", "num_attention_heads (5) does not divide hidden_size (32)"});
}

TEST(HfLlamaErrors, KeyValueHeadsThatDoNotDivideTheHeads) {
  EditedLlama m([](nlohmann::json& c) { c["num_key_value_heads"] = 3; });
  expect_error(m.load_error(), {"config.json", "num_key_value_heads (3) does not divide num_attention_heads (4)"});
}

TEST(HfLlamaErrors, UnknownRopeScalingType) {
  EditedLlama m([](nlohmann::json& c) { c["rope_scaling"] = {{"rope_type", "longrope"}, {"factor", 2.0}}; });
  expect_error(m.load_error(), {"rope_scaling", "unsupported rope_scaling type 'longrope'"});
  EditedLlama untyped([](nlohmann::json& c) { c["rope_scaling"] = {{"factor", 2.0}}; });
  expect_error(untyped.load_error(), {"rope_scaling", "\"rope_type\""});
  EditedLlama incomplete([](nlohmann::json& c) { c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}}; });
  expect_error(incomplete.load_error(), {"rope_scaling", "original_max_position_embeddings"});
}

TEST(HfLlamaErrors, MissingTensor) {
  EditedLlama m([](nlohmann::json&) {}, [](EditedLlama::Tensors& t) { t.erase("model.layers.1.mlp.up_proj.weight"); });
  expect_error(m.load_error(), {"model.safetensors", "'model.layers.1.mlp.up_proj.weight'"});
  EditedLlama head([](nlohmann::json&) {}, [](EditedLlama::Tensors& t) { t.erase("lm_head.weight"); });
  expect_error(head.load_error(), {"'lm_head.weight'", "tie_word_embeddings false"});
  EditedLlama bias([](nlohmann::json& c) { c["attention_bias"] = true; });
  expect_error(bias.load_error(), {"'model.layers.0.self_attn.q_proj.bias'"});
}

TEST(HfLlamaErrors, WrongShape) {
  EditedLlama m([](nlohmann::json&) {}, [](EditedLlama::Tensors& t) { t.at("model.norm.weight") = Tensor<float>({31}); });
  expect_error(m.load_error(), {"'model.norm.weight'", "[32]", "[31]"});
  EditedLlama kv([](nlohmann::json& c) { c["num_key_value_heads"] = 2; });  // k_proj is stored [32, 32]
  expect_error(kv.load_error(), {"'model.layers.0.self_attn.k_proj.weight'", "[16, 32]"});
}

TEST(HfLlamaErrors, UnusedTensor) {
  EditedLlama m([](nlohmann::json& c) { c["num_hidden_layers"] = 1; });
  expect_error(m.load_error(), {"not used", "model.layers.1."});
}

TEST(HfLlamaErrors, TokenIdOutOfRange) {
  const LlamaCase c("hf/llama_a");
  Tensor<std::int64_t> ids({1, 3});
  ids(0, 0) = 1, ids(0, 1) = 211, ids(0, 2) = 5;
  try {
    c.model.forward(ids);
    FAIL() << "expected qkv::Error";
  } catch (const Error& e) {
    expect_error(e.what(), {"token id 211", "211 entries"});
  }
  Tensor<std::int64_t> positions({1, 2});
  ForwardOptions options;
  options.position_ids = positions.view();
  EXPECT_THROW(c.model.forward(ids.view().narrow(1, 0, 1), {}, options), Error);
}

TEST(HfLlama, AcceptsWhatTransformersAccepts) {
  // Older checkpoints stored the rotary buffer; a tied model may still store lm_head.weight;
  // rope_scaling "default" / null means none.
  EditedLlama old_buffer([](nlohmann::json& c) { c["rope_scaling"] = {{"type", "default"}}; },
                         [](EditedLlama::Tensors& t) {
                           t.emplace("model.layers.0.self_attn.rotary_emb.inv_freq", Tensor<float>({4}));
                         });
  EXPECT_EQ(old_buffer.load_error(), "");
  EditedLlama tied([](nlohmann::json& c) { c["tie_word_embeddings"] = true; });
  EXPECT_EQ(tied.load_error(), "");
  const auto model = std::get<DecoderModel>(load(tied.dir()));
  EXPECT_EQ(model.lm_head.linear.weight.data(), model.input.tokens.weight.data());
}

}  // namespace
}  // namespace qkv
