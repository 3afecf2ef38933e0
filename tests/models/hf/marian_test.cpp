#include "qkv/models/hf/marian.hpp"

#include "support/hf_seq2seq.hpp"

namespace qkv {
namespace {

// tests/data/hf/marian_a: MarianMTModel, vocab 181, d_model 32, 2 + 2 layers, 4 heads, ffn 37,
// max_position_embeddings 64, swish, scale_embedding, shared embeddings. The sinusoidal position
// tables are not stored.
constexpr double kMarianRtol = 1e-5;
const std::string kMarianCase = "marian_a";

// share_encoder_decoder_embeddings false: model.shared becomes model.encoder.embed_tokens and
// model.decoder.embed_tokens (and the tied LM head uses the decoder's).
void write_separate_embeddings(const std::string& dir, const std::function<void(nlohmann::json&)>& edit = {}) {
  test::write_case_variant(
      kMarianCase, dir,
      [&](nlohmann::json& c) {
        c["share_encoder_decoder_embeddings"] = false;
        if (edit) edit(c);
      },
      [](test::Weights& w) {
        w.emplace("model.decoder.embed_tokens.weight", Tensor<float>::copy_of(w.at("model.shared.weight")));
        test::rename(w, "model.shared.weight", "model.encoder.embed_tokens.weight");
      });
}

TEST(HfMarian, LoadsAsAnEncoderDecoderModel) {
  const auto m = test::load_seq2seq(test::hf_case_dir(kMarianCase));
  EXPECT_EQ(m.encoder_input.positions.offset, 0);
  EXPECT_EQ(m.encoder_input.positions.max_positions(), 64);
  EXPECT_EQ(m.encoder_input.positions.table.data(), m.decoder_input.positions.table.data());  // one computed table
  EXPECT_TRUE(m.encoder_input.norm.weight.empty());  // no layernorm_embedding
  EXPECT_EQ(m.encoder_input.tokens.scale, std::sqrt(32.0f));
  EXPECT_EQ(m.decoder.layers[0].ffn.activation, Activation::silu);
}

TEST(HfMarian, SingleSequenceMatchesHf) {
  const auto model = test::load_seq2seq(test::hf_case_dir(kMarianCase));
  test::for_each_isa([&](Isa) { test::expect_seq2seq_matches(model, kMarianCase, "single", test::float32_reference_rtol(kMarianRtol)); });
}

TEST(HfMarian, RightPaddedBatchMatchesHf) {
  const auto model = test::load_seq2seq(test::hf_case_dir(kMarianCase));
  test::for_each_isa([&](Isa) { test::expect_seq2seq_matches(model, kMarianCase, "batch", test::float32_reference_rtol(kMarianRtol)); });
}

TEST(HfMarian, SeparateEncoderAndDecoderEmbeddingsGiveTheSameResults) {
  test::TempDir dir;
  write_separate_embeddings(dir.path());
  const auto model = test::load_seq2seq(dir.path());
  EXPECT_NE(model.encoder_input.tokens.weight.data(), model.decoder_input.tokens.weight.data());
  EXPECT_EQ(model.lm_head.linear.weight.data(), model.decoder_input.tokens.weight.data());
  test::for_each_isa([&](Isa) {
    test::expect_seq2seq_matches(model, kMarianCase, "single", test::float32_reference_rtol(kMarianRtol));
    test::expect_seq2seq_matches(model, kMarianCase, "batch", test::float32_reference_rtol(kMarianRtol));
  });
}

TEST(HfMarian, StoredPositionTablesAreUsed) {
  // Older Marian files still hold the sinusoidal tables: they are read (as HF loads them), and
  // stored with the values HF computes they change nothing.
  test::TempDir dir;
  test::write_case_variant(kMarianCase, dir.path(), {}, [](test::Weights& w) {
    for (const char* stack : {"model.encoder.", "model.decoder."})
      w.emplace(std::string(stack) + "embed_positions.weight", nn::sinusoidal_table(64, 32, nn::SinusoidLayout::halves));
  });
  const auto model = test::load_seq2seq(dir.path());
  EXPECT_NE(model.encoder_input.positions.table.data(), model.decoder_input.positions.table.data());
  test::expect_seq2seq_matches(model, kMarianCase, "batch", test::float32_reference_rtol(kMarianRtol));
}

TEST(HfMarian, ErrorsNameWhatIsWrong) {
  {  // separate embeddings: the decoder's table has decoder_vocab_size rows
    test::TempDir dir;
    write_separate_embeddings(dir.path(), [](nlohmann::json& c) { c["decoder_vocab_size"] = 180; });
    EXPECT_TRUE(test::contains(test::error_of([&] { test::load_seq2seq(dir.path()); }),
                         "tensor 'model.decoder.embed_tokens.weight': expected shape [180, 32], got [181, 32]"));
  }
  {  // separate embeddings: each stack needs its own
    test::TempDir dir;
    test::write_case_variant(kMarianCase, dir.path(), [](nlohmann::json& c) { c["share_encoder_decoder_embeddings"] = false; },
                             [](test::Weights& w) { test::rename(w, "model.shared.weight", "model.encoder.embed_tokens.weight"); });
    EXPECT_TRUE(test::contains(test::error_of([&] { test::load_seq2seq(dir.path()); }), "no tensor 'model.decoder.embed_tokens.weight'"));
  }
  {
    test::TempDir dir;
    test::write_case_variant(kMarianCase, dir.path(), [](nlohmann::json& c) { c["activation_function"] = "swishy"; });
    EXPECT_TRUE(test::contains(test::error_of([&] { test::load_seq2seq(dir.path()); }), "unsupported activation 'swishy'"));
  }
  {
    test::TempDir dir;
    test::write_case_variant(kMarianCase, dir.path(), {}, [](test::Weights& w) { w.erase("model.encoder.layers.0.self_attn.k_proj.weight"); });
    EXPECT_TRUE(test::contains(test::error_of([&] { test::load_seq2seq(dir.path()); }),
                         "no tensor 'model.encoder.layers.0.self_attn.k_proj.weight'"));
  }

  const auto model = test::load_seq2seq(test::hf_case_dir(kMarianCase));
  Tensor<std::int64_t> ids({1, 4}, 7), bad({1, 4}, 7);
  bad(0, 3) = -1;
  EXPECT_TRUE(test::contains(test::error_of([&] { model.forward(ids, {}, bad); }), "token id -1 at [0, 3] is out of range"));
  Tensor<std::int64_t> long_ids({1, 65}, 7);
  const std::string too_long = "position 64 is outside the model's 64 position embeddings";
  EXPECT_TRUE(test::contains(test::error_of([&] { model.forward(long_ids, {}, ids); }), too_long));
  EXPECT_TRUE(test::contains(test::error_of([&] { model.forward(ids, {}, long_ids); }), too_long));
}

}  // namespace
}  // namespace qkv
