#include "qkv/nn/decoder_block.hpp"

#include "qkv/models/torch_layout.hpp"
#include "support/reference.hpp"

namespace qkv {
namespace {

// tests/data/torch/dec_layer_{post,pre}_{relu,gelu}: nn.TransformerDecoderLayer(32, 4, 37).
class DecoderBlockCase : public ::testing::TestWithParam<const char*> {};

TEST_P(DecoderBlockCase, MatchesTorchWithAndWithoutMasks) {
  const std::string name = GetParam();
  const auto inputs = test::open_data("torch/" + name + "/inputs.safetensors");
  const auto expected = test::open_data("torch/" + name + "/expected.safetensors");
  const TransformerConfig config = test::torch_case_config(name);
  const auto weights = test::torch_weights(name);
  const nn::DecoderBlock block = torch_layout::decoder_block(*weights, "", config);
  const Tensor<float> memory = inputs.to_float("memory");
  const auto target_padding = test::load_mask(inputs, "tgt_key_padding_mask");
  const auto memory_padding = test::load_mask(inputs, "memory_key_padding_mask");
  test::for_each_isa([&](Isa) {
    {
      Tensor<float> x = inputs.to_float("tgt");
      nn::AttentionMasks self_masks, cross_masks;
      self_masks.causal = true;
      self_masks.key_padding = target_padding.view();
      cross_masks.key_padding = memory_padding.view();
      block.forward(x, memory, self_masks, cross_masks);
      test::expect_close(x, expected.to_float("out"), 1e-5, name, test::valid_rows(target_padding, 32));
    }
    Tensor<float> x = inputs.to_float("tgt");
    block.forward(x, memory, {}, {});
    test::expect_close(x, expected.to_float("out_nomask"), 1e-5, name + " no mask");
  });
}

INSTANTIATE_TEST_SUITE_P(Torch, DecoderBlockCase,
                         ::testing::Values("dec_layer_post_relu", "dec_layer_post_gelu", "dec_layer_pre_relu",
                                           "dec_layer_pre_gelu"));

}  // namespace
}  // namespace qkv
