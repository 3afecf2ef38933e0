#include "qkv/nn/encoder_block.hpp"

#include "qkv/models/torch_layout.hpp"
#include "support/reference.hpp"

namespace qkv {
namespace {

// tests/data/torch/enc_layer_{post,pre}_{relu,gelu}: nn.TransformerEncoderLayer(32, 4, 37).
class EncoderBlockCase : public ::testing::TestWithParam<const char*> {};

TEST_P(EncoderBlockCase, MatchesTorchWithPaddingAndCausalMasks) {
  const std::string name = GetParam();
  const auto inputs = test::open_data("torch/" + name + "/inputs.safetensors");
  const auto expected = test::open_data("torch/" + name + "/expected.safetensors");
  const TransformerConfig config = test::torch_case_config(name);
  const auto weights = test::torch_weights(name);
  const nn::EncoderBlock block = torch_layout::encoder_block(*weights, "", config);
  const auto padding = test::load_mask(inputs, "src_key_padding_mask");
  test::for_each_isa([&](Isa) {
    for (bool causal : {false, true}) {
      Tensor<float> x = inputs.to_float("src");
      nn::AttentionMasks masks;
      masks.key_padding = padding.view();
      masks.causal = causal;
      block.forward(x, masks);
      test::expect_close(x, expected.to_float(causal ? "out_causal" : "out"), 1e-5, name + (causal ? " causal" : ""),
                         test::valid_rows(padding, 32));
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Torch, EncoderBlockCase,
                         ::testing::Values("enc_layer_post_relu", "enc_layer_post_gelu", "enc_layer_pre_relu",
                                           "enc_layer_pre_gelu"));

}  // namespace
}  // namespace qkv
