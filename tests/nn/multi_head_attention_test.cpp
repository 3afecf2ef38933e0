#include "qkv/nn/multi_head_attention.hpp"

#include "qkv/models/torch_layout.hpp"
#include "support/reference.hpp"

namespace qkv {
namespace {

// tests/data/torch/mha_*: torch.nn.MultiheadAttention(32, 4, batch_first=True), per-head weights.
struct MhaCase {
  io::SafetensorsFile inputs, expected;
  std::shared_ptr<WeightStore> weights;
  nn::MultiHeadAttention mha;
  explicit MhaCase(const std::string& name)
      : inputs(test::open_data("torch/" + name + "/inputs.safetensors")),
        expected(test::open_data("torch/" + name + "/expected.safetensors")),
        weights(test::torch_weights(name)),
        mha(torch_layout::multi_head_attention(*weights, "", 32, 4)) {}
};

TEST(MultiHeadAttention, SelfAttentionWithCausalAndKeyPaddingMasks) {
  MhaCase c("mha_self_causal");
  const Tensor<float> x = c.inputs.to_float("x");
  const auto causal = test::load_mask(c.inputs, "attn_mask");
  const auto padding = test::load_mask(c.inputs, "key_padding_mask");
  test::for_each_isa([&](Isa) {
    for (bool use_causal_flag : {false, true}) {  // torch's bool mask, or qkv's causal flag
      nn::AttentionMasks masks;
      masks.key_padding = padding.view();
      if (use_causal_flag)
        masks.causal = true;
      else
        masks.blocked = causal.view();
      Tensor<float> out({2, 7, 32}), probs({2, 4, 7, 7});
      c.mha.forward(x, x, x, masks, out, probs);
      test::expect_close(out, c.expected.to_float("out"), 1e-5, "mha_self_causal out", test::valid_rows(padding, 32));
      test::expect_close(probs, c.expected.to_float("attn_weights"), 1e-5, "mha_self_causal attn_weights",
                         test::valid_queries(padding, 4, 7));
    }
  });
}

TEST(MultiHeadAttention, SelfAttentionWithAdditiveFloatMask) {
  MhaCase c("mha_self_floatmask");
  const Tensor<float> x = c.inputs.to_float("x"), mask = c.inputs.to_float("attn_mask");
  test::for_each_isa([&](Isa) {
    nn::AttentionMasks masks;
    masks.additive = mask.view();
    Tensor<float> out({2, 7, 32}), probs({2, 4, 7, 7});
    c.mha.forward(x, x, x, masks, out, probs);
    test::expect_close(out, c.expected.to_float("out"), 1e-5, "mha_self_floatmask out");
    test::expect_close(probs, c.expected.to_float("attn_weights"), 1e-5, "mha_self_floatmask attn_weights");
  });
}

TEST(MultiHeadAttention, CrossAttentionOverPaddedMemory) {
  MhaCase c("mha_cross");
  const Tensor<float> query = c.inputs.to_float("query"), memory = c.inputs.to_float("memory");
  const auto padding = test::load_mask(c.inputs, "key_padding_mask");
  test::for_each_isa([&](Isa) {
    nn::AttentionMasks masks;
    masks.key_padding = padding.view();
    Tensor<float> out({2, 5, 32}), probs({2, 4, 5, 13});
    c.mha.forward(query, memory, memory, masks, out, probs);
    test::expect_close(out, c.expected.to_float("out"), 1e-5, "mha_cross out");
    test::expect_close(probs, c.expected.to_float("attn_weights"), 1e-5, "mha_cross attn_weights");
  });
}

TEST(MultiHeadAttention, CrossAttentionWithKdimAndVdim) {
  MhaCase c("mha_cross_kdim");  // separate q/k/v_proj_weight [32,32], [32,24], [32,20]
  const Tensor<float> query = c.inputs.to_float("query"), key = c.inputs.to_float("key"), value = c.inputs.to_float("value");
  const auto padding = test::load_mask(c.inputs, "key_padding_mask");
  EXPECT_EQ(c.mha.k_proj.in_features(), 24);
  EXPECT_EQ(c.mha.v_proj.in_features(), 20);
  test::for_each_isa([&](Isa) {
    nn::AttentionMasks masks;
    masks.key_padding = padding.view();
    Tensor<float> out({2, 5, 32}), probs({2, 4, 5, 13});
    c.mha.forward(query, key, value, masks, out, probs);
    test::expect_close(out, c.expected.to_float("out"), 1e-5, "mha_cross_kdim out");
    test::expect_close(probs, c.expected.to_float("attn_weights"), 1e-5, "mha_cross_kdim attn_weights");
  });
}

TEST(MultiHeadAttention, GroupedQueryHeadsShareKeyValueHeads) {
  // 4 query heads over 2 kv heads must equal 4 heads whose k/v weights repeat each kv head twice.
  MhaCase c("mha_self_floatmask");
  const Tensor<float> x = c.inputs.to_float("x");
  nn::MultiHeadAttention gqa = c.mha;
  gqa.num_kv_heads = 2;
  gqa.k_proj.weight = c.mha.k_proj.weight.narrow(0, 0, 16);
  gqa.v_proj.weight = c.mha.v_proj.weight.narrow(0, 0, 16);
  gqa.k_proj.bias = c.mha.k_proj.bias.narrow(0, 0, 16);
  gqa.v_proj.bias = c.mha.v_proj.bias.narrow(0, 0, 16);
  Tensor<float> k_rep({32, 32}), v_rep({32, 32}), kb_rep({32}), vb_rep({32});
  for (int h = 0; h < 4; ++h)  // query head h uses kv head h / 2
    for (int r = 0; r < 8; ++r) {
      const int src = (h / 2) * 8 + r, dst = h * 8 + r;
      for (int j = 0; j < 32; ++j) k_rep(dst, j) = c.mha.k_proj.weight(src, j), v_rep(dst, j) = c.mha.v_proj.weight(src, j);
      kb_rep(dst) = c.mha.k_proj.bias(src), vb_rep(dst) = c.mha.v_proj.bias(src);
    }
  nn::MultiHeadAttention repeated = c.mha;
  repeated.k_proj = {k_rep.view(), kb_rep.view()};
  repeated.v_proj = {v_rep.view(), vb_rep.view()};
  Tensor<float> out_gqa({2, 7, 32}), out_rep({2, 7, 32});
  gqa.forward(x, x, x, {}, out_gqa);
  repeated.forward(x, x, x, {}, out_rep);
  test::expect_close(out_gqa, out_rep, 1e-6, "grouped-query attention vs repeated heads");
}

TEST(MultiHeadAttention, RejectsHeadsThatDoNotDivideTheWidth) {
  MhaCase c("mha_self_floatmask");
  const Tensor<float> x = c.inputs.to_float("x");
  nn::MultiHeadAttention bad = c.mha;
  bad.num_heads = 5;
  Tensor<float> out({2, 7, 32});
  EXPECT_THROW(bad.forward(x, x, x, {}, out), Error);
}

}  // namespace
}  // namespace qkv
