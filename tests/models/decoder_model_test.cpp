#include "qkv/models/decoder_model.hpp"

#include "support/fixture_model.hpp"

namespace qkv {
namespace {

// fixtures/models_decoder_pre_gelu: embed + learned positions, 2 pre-LN gelu layers with a
// causal mask, final LayerNorm, untied LM head.
DecoderModel load_decoder_fixture(test::FixtureModel& f) {
  TransformerConfig c = test::fixture_config();
  c.decoder_layers = 2;
  c.positions = PositionKind::learned;
  c.placement = nn::NormPlacement::pre;
  c.activation = Activation::gelu_erf;
  c.final_norm = true;
  return torch_layout::load_decoder_model(f.weights, c);
}

TEST(DecoderModel, HiddenStatesAndLogitsMatchTorch) {
  test::FixtureModel f("models_decoder_pre_gelu");
  const DecoderModel model = load_decoder_fixture(f);
  const auto ids = f.file.to_int64("inputs.input_ids"), mask = f.file.to_int64("inputs.attention_mask");
  const auto padding = test::padding_of(mask);
  test::for_each_isa([&](Isa) {
    const DecoderOutput out = model.forward(ids, mask);
    test::expect_close(out.last_hidden_state, f.file.to_float("expected.last_hidden_state"), 1e-5, "decoder model hidden",
                       test::valid_rows(padding, 32));
    test::expect_close(out.logits, f.file.to_float("expected.logits"), 1e-5, "decoder model logits",
                       test::valid_rows(padding, 50));
  });
}

TEST(DecoderModel, PaddingNeverChangesASequence) {
  test::FixtureModel f("models_decoder_pre_gelu");
  const DecoderModel model = load_decoder_fixture(f);
  const auto ids = f.file.to_int64("inputs.input_ids"), mask = f.file.to_int64("inputs.attention_mask");
  const auto batch = model.forward(ids, mask);
  for (std::int64_t b = 0; b < ids.dim(0); ++b) {
    const std::int64_t n = test::valid_length(mask, b);
    const auto alone = model.forward(test::row_alone(ids, b, n));
    test::expect_row_bitwise_equal(batch.logits, b, alone.logits, n, "logits row " + std::to_string(b));
  }
}

TEST(DecoderModel, CausalAttentionNeverLooksAhead) {
  test::FixtureModel f("models_decoder_pre_gelu");
  const DecoderModel model = load_decoder_fixture(f);
  const auto ids = f.file.to_int64("inputs.input_ids");
  const auto out = model.forward(ids, {}, ForwardOptions::with_attentions());
  for (const auto& a : out.attentions)
    for (std::int64_t q = 0; q < 9; ++q)
      for (std::int64_t k = q + 1; k < 9; ++k) EXPECT_EQ(a(0, 0, q, k), 0.0f);
  // And a prefix's logits do not depend on the tokens after it.
  const auto prefix = model.forward(test::row_alone(ids, 0, 4));
  test::expect_row_bitwise_equal(out.logits, 0, prefix.logits, 4, "prefix logits");
}

TEST(DecoderModel, LmHeadTiesToEmbeddingsWhenAbsent) {
  // A store holding only the tensors a tied model needs: no lm_head.weight.
  test::FixtureModel f("models_decoder_pre_gelu");
  TransformerConfig c = test::fixture_config();
  c.decoder_layers = 0, c.positions = PositionKind::none;
  auto store = std::make_shared<WeightStore>();
  store->keep("embed_tokens.weight", f.file.to_float("weights.embed_tokens.weight"));
  const DecoderModel model = torch_layout::load_decoder_model(store, c);
  EXPECT_EQ(model.lm_head.linear.weight.data(), model.input.tokens.weight.data());
}

}  // namespace
}  // namespace qkv
