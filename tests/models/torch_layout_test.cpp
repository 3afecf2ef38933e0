#include "qkv/models/torch_layout.hpp"

#include "support/reference.hpp"

namespace qkv {
namespace {

// tests/data/torch/transformer_{post_relu,pre_gelu}: a full nn.Transformer (2 + 2 layers, with
// the final encoder.norm and decoder.norm), loaded from PyTorch's own state_dict names.
class TorchTransformer : public ::testing::TestWithParam<const char*> {};

TEST_P(TorchTransformer, EncoderMemoryAndDecoderOutputMatchTorch) {
  const std::string name = GetParam();
  const auto inputs = test::open_data("torch/" + name + "/inputs.safetensors");
  const auto expected = test::open_data("torch/" + name + "/expected.safetensors");
  TransformerConfig config = test::torch_case_config(name);
  config.encoder_layers = 2, config.decoder_layers = 2, config.final_norm = true;
  const auto weights = test::torch_weights(name);
  const EncoderStack encoder = torch_layout::encoder_stack(*weights, "encoder.", config.encoder_layers, config);
  const DecoderStack decoder = torch_layout::decoder_stack(*weights, "decoder.", config);
  ASSERT_EQ(encoder.layers.size(), 2u);
  ASSERT_EQ(decoder.layers.size(), 2u);

  const auto source_padding = test::load_mask(inputs, "src_key_padding_mask");
  const auto target_padding = test::load_mask(inputs, "tgt_key_padding_mask");
  test::for_each_isa([&](Isa) {
    Tensor<float> memory = inputs.to_float("src");
    nn::AttentionMasks encoder_masks;
    encoder_masks.key_padding = source_padding.view();
    encoder.forward(memory, encoder_masks);
    test::expect_close(memory, expected.to_float("memory"), 1e-5, name + " memory", test::valid_rows(source_padding, 32));

    Tensor<float> x = inputs.to_float("tgt");
    nn::AttentionMasks self_masks, cross_masks;
    self_masks.causal = true;
    self_masks.key_padding = target_padding.view();
    cross_masks.key_padding = source_padding.view();
    decoder.forward(x, memory.view(), self_masks, cross_masks);
    test::expect_close(x, expected.to_float("out"), 1e-5, name + " out", test::valid_rows(target_padding, 32));
  });
}

INSTANTIATE_TEST_SUITE_P(Torch, TorchTransformer, ::testing::Values("transformer_post_relu", "transformer_pre_gelu"));

TEST(TorchLayout, MissingTensorIsAnErrorNamingIt) {
  const auto weights = test::torch_weights("enc_layer_post_relu");
  const TransformerConfig config = test::torch_case_config("enc_layer_post_relu");
  try {
    torch_layout::decoder_block(*weights, "", config);  // an encoder layer has no multihead_attn.*
    FAIL() << "expected qkv::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multihead_attn.in_proj_weight"), std::string::npos) << e.what();
  }
}

TEST(TorchLayout, WrongShapeIsAnErrorNamingTensorAndShapes) {
  const auto weights = test::torch_weights("enc_layer_post_relu");
  TransformerConfig config = test::torch_case_config("enc_layer_post_relu");
  config.ffn_dim = 40;  // the file has 37
  try {
    torch_layout::encoder_block(*weights, "", config);
    FAIL() << "expected qkv::Error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("linear1.weight"), std::string::npos) << what;
    EXPECT_NE(what.find("[40, 32]"), std::string::npos) << what;
    EXPECT_NE(what.find("[37, 32]"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace qkv
