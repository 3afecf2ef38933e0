#include "qkv/models/encoder_decoder_model.hpp"

#include "support/fixture_model.hpp"

namespace qkv {
namespace {

// fixtures/models_seq2seq_{pre_gelu,post_relu}: nn.Transformer with a shared embedding
// (x sqrt(d)) + sinusoidal positions and an LM head.
EncoderDecoderModel load_encoder_decoder_fixture(test::FixtureModel& f, bool pre) {
  TransformerConfig c = test::fixture_config();
  c.encoder_layers = 2, c.decoder_layers = 2;
  c.positions = PositionKind::sinusoidal;
  c.embed_scale = std::sqrt(32.0f);
  c.placement = pre ? nn::NormPlacement::pre : nn::NormPlacement::post;
  c.activation = pre ? Activation::gelu_erf : Activation::relu;
  c.final_norm = true;
  return torch_layout::load_encoder_decoder_model(f.weights, c);
}

class Seq2Seq : public ::testing::TestWithParam<const char*> {};

TEST_P(Seq2Seq, EncoderOutputAndLogitsMatchTorch) {
  const std::string name = GetParam();
  test::FixtureModel f(name);
  const EncoderDecoderModel model = load_encoder_decoder_fixture(f, name.find("pre") != std::string::npos);
  const auto ids = f.file.to_int64("inputs.input_ids"), mask = f.file.to_int64("inputs.attention_mask");
  const auto dec = f.file.to_int64("inputs.decoder_input_ids"), dec_mask = f.file.to_int64("inputs.decoder_attention_mask");
  const auto source_padding = test::padding_of(mask), target_padding = test::padding_of(dec_mask);
  test::for_each_isa([&](Isa) {
    const Seq2SeqOutput out = model.forward(ids, mask, dec, dec_mask);
    test::expect_close(out.encoder_last_hidden_state, f.file.to_float("expected.encoder_last_hidden_state"), 1e-5,
                       name + " encoder", test::valid_rows(source_padding, 32));
    test::expect_close(out.last_hidden_state, f.file.to_float("expected.last_hidden_state"), 1e-5, name + " decoder",
                       test::valid_rows(target_padding, 32));
    test::expect_close(out.logits, f.file.to_float("expected.logits"), 1e-5, name + " logits",
                       test::valid_rows(target_padding, 50));
  });
}

TEST_P(Seq2Seq, PaddingNeverChangesASequence) {
  const std::string name = GetParam();
  test::FixtureModel f(name);
  const EncoderDecoderModel model = load_encoder_decoder_fixture(f, name.find("pre") != std::string::npos);
  const auto ids = f.file.to_int64("inputs.input_ids"), mask = f.file.to_int64("inputs.attention_mask");
  const auto dec = f.file.to_int64("inputs.decoder_input_ids"), dec_mask = f.file.to_int64("inputs.decoder_attention_mask");
  const auto batch = model.forward(ids, mask, dec, dec_mask, ForwardOptions::with_attentions());
  for (std::int64_t b = 0; b < ids.dim(0); ++b) {
    const std::int64_t ns = test::valid_length(mask, b), nt = test::valid_length(dec_mask, b);
    const auto alone = model.forward(test::row_alone(ids, b, ns), {}, test::row_alone(dec, b, nt), {}, ForwardOptions::with_attentions());
    test::expect_row_bitwise_equal(batch.encoder_last_hidden_state, b, alone.encoder_last_hidden_state, ns, "encoder row");
    test::expect_row_bitwise_equal(batch.logits, b, alone.logits, nt, "logits row");
    // Cross-attention: every valid target query puts exactly the same weights on the source tokens.
    for (std::int64_t l = 0; l < 2; ++l)
      for (std::int64_t h = 0; h < 4; ++h)
        for (std::int64_t q = 0; q < nt; ++q)
          for (std::int64_t k = 0; k < ns; ++k)
            EXPECT_EQ(batch.cross_attentions[l](b, h, q, k), alone.cross_attentions[l](0, h, q, k));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Seq2Seq, ::testing::Values("models_seq2seq_pre_gelu", "models_seq2seq_post_relu"));

TEST(EncoderDecoderModel, StoredTensorsTheConfigDoesNotUseAreAnError) {
  // nn.Transformer stores encoder.norm / decoder.norm; a config without final_norm would ignore them.
  test::FixtureModel f("models_seq2seq_post_relu");
  TransformerConfig c = test::fixture_config();
  c.encoder_layers = 2, c.decoder_layers = 2, c.positions = PositionKind::sinusoidal;
  try {
    torch_layout::load_encoder_decoder_model(f.weights, c);
    FAIL() << "expected qkv::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("weights.decoder.norm.bias"), std::string::npos) << e.what();
  }
}

TEST(EncoderDecoderModel, MismatchedBatchIsAnError) {
  test::FixtureModel f("models_seq2seq_pre_gelu");
  const EncoderDecoderModel model = load_encoder_decoder_fixture(f, true);
  Tensor<std::int64_t> src({2, 3}, 1), tgt({1, 2}, 1);
  EXPECT_THROW(model.forward(src, {}, tgt), Error);
}

}  // namespace
}  // namespace qkv
