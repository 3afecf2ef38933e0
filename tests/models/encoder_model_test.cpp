#include "qkv/models/encoder_model.hpp"

#include "support/fixture_model.hpp"

namespace qkv {
namespace {

// fixtures/models_encoder_post_relu: embed * sqrt(d) + sinusoidal positions, 2 post-LN relu
// nn.TransformerEncoderLayers, classifier on the first token.
EncoderModel load_encoder_fixture(test::FixtureModel& f) {
  TransformerConfig c = test::fixture_config();
  c.encoder_layers = 2, c.num_labels = 3;
  c.positions = PositionKind::sinusoidal;
  c.embed_scale = std::sqrt(32.0f);
  c.placement = nn::NormPlacement::post;
  c.activation = Activation::relu;
  return torch_layout::load_encoder_model(f.weights, c);
}

TEST(EncoderModel, HiddenStatesAndClassProbabilitiesMatchTorch) {
  test::FixtureModel f("models_encoder_post_relu");
  const EncoderModel model = load_encoder_fixture(f);
  const auto ids = f.file.to_int64("inputs.input_ids"), mask = f.file.to_int64("inputs.attention_mask");
  const auto padding = test::padding_of(mask);
  test::for_each_isa([&](Isa) {
    const EncoderOutput out = model.forward(ids, mask);
    test::expect_close(out.last_hidden_state, f.file.to_float("expected.last_hidden_state"), 1e-5,
                       "encoder model hidden", test::valid_rows(padding, 32));
    test::expect_close(model.classify(ids, mask), f.file.to_float("expected.probs"), 1e-5, "encoder model probs");
  });
}

TEST(EncoderModel, PaddingNeverChangesASequence) {
  test::FixtureModel f("models_encoder_post_relu");
  const EncoderModel model = load_encoder_fixture(f);
  const auto ids = f.file.to_int64("inputs.input_ids"), mask = f.file.to_int64("inputs.attention_mask");
  const auto batch = model.forward(ids, mask, ForwardOptions::with_attentions());
  for (std::int64_t b = 0; b < ids.dim(0); ++b) {
    const std::int64_t n = test::valid_length(mask, b);
    const auto alone = model.forward(test::row_alone(ids, b, n), {}, ForwardOptions::with_attentions());
    test::expect_row_bitwise_equal(batch.last_hidden_state, b, alone.last_hidden_state, n, "hidden row " + std::to_string(b));
    const Tensor<float> batch_probs = model.classify(ids, mask), alone_probs = model.classify(test::row_alone(ids, b, n));
    for (std::int64_t c = 0; c < 3; ++c) EXPECT_EQ(batch_probs(b, c), alone_probs(0, c));
  }
}

TEST(EncoderModel, LengthsGiveTheSameResultAsTheMask) {
  test::FixtureModel f("models_encoder_post_relu");
  const EncoderModel model = load_encoder_fixture(f);
  const auto ids = f.file.to_int64("inputs.input_ids"), mask = f.file.to_int64("inputs.attention_mask");
  const auto from_lengths = attention_mask_from_lengths({test::valid_length(mask, 0), test::valid_length(mask, 1)}, 9);
  for (std::int64_t i = 0; i < mask.numel(); ++i) EXPECT_EQ(from_lengths.data()[i], mask.data()[i]);
  EXPECT_THROW(attention_mask_from_lengths({10}, 9), Error);
  EXPECT_THROW(attention_mask_from_lengths({0}, 9), Error);
}

TEST(EncoderModel, AttentionsSumToOneAndIgnorePaddedKeys) {
  test::FixtureModel f("models_encoder_post_relu");
  const EncoderModel model = load_encoder_fixture(f);
  const auto ids = f.file.to_int64("inputs.input_ids"), mask = f.file.to_int64("inputs.attention_mask");
  const auto out = model.forward(ids, mask, ForwardOptions::with_attentions());
  ASSERT_EQ(out.attentions.size(), 2u);
  for (const auto& a : out.attentions) {
    ASSERT_EQ(a.shape(), Shape({2, 4, 9, 9}));
    for (std::int64_t b = 0; b < 2; ++b)
      for (std::int64_t h = 0; h < 4; ++h)
        for (std::int64_t q = 0; q < 9; ++q) {
          double sum = 0;
          for (std::int64_t k = 0; k < 9; ++k) {
            sum += a(b, h, q, k);
            if (mask(b, k) == 0) {
              EXPECT_EQ(a(b, h, q, k), 0.0f);
            }
          }
          EXPECT_NEAR(sum, 1.0, 1e-5);
        }
  }
}

TEST(EncoderModel, BadInputsAreErrors) {
  test::FixtureModel f("models_encoder_post_relu");
  const EncoderModel model = load_encoder_fixture(f);
  Tensor<std::int64_t> ids({1, 3}, 1);
  ids(0, 2) = 50;  // vocabulary is 50
  EXPECT_THROW(model.forward(ids), Error);
  ids(0, 2) = 1;
  Tensor<std::int64_t> wrong_mask({1, 4}, 1), odd_mask({1, 3}, 2);
  EXPECT_THROW(model.forward(ids, wrong_mask), Error);
  EXPECT_THROW(model.forward(ids, odd_mask), Error);
  Tensor<std::int64_t> too_long({1, 17}, 1);  // 16 positions
  EXPECT_THROW(model.forward(too_long), Error);
  EXPECT_THROW(model.forward(Tensor<std::int64_t>({1, 0})), Error);
}

TEST(TransformerConfig, InconsistentValuesAreErrorsNamingTheField) {
  TransformerConfig c = test::fixture_config();
  c.num_heads = 5;
  try {
    c.validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("num_heads"), std::string::npos) << e.what();
  }
  c = test::fixture_config();
  c.d_model = -32;
  EXPECT_THROW(c.validate(), Error);
  c = test::fixture_config();
  c.encoder_layers = -1;
  EXPECT_THROW(c.validate(), Error);
}

}  // namespace
}  // namespace qkv
