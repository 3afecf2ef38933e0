// nn::KvCache's layout [B, H_kv, capacity, head_dim] and MultiHeadAttention's cached paths: token
// by token through the cache, attention gives what one pass over the whole sequence gives.
#include "qkv/nn/multi_head_attention.hpp"

#include "qkv/models/torch_layout.hpp"
#include "support/reference.hpp"

namespace qkv {
namespace {

// [B, L, heads * hd] with element (b, t, h, i) = 1000 b + 100 t + 10 h + i.
Tensor<float> kv_cache_pattern(std::int64_t batch, std::int64_t length, std::int64_t heads, std::int64_t hd,
                               float offset = 0.0f) {
  Tensor<float> x({batch, length, heads * hd});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t t = 0; t < length; ++t)
      for (std::int64_t h = 0; h < heads; ++h)
        for (std::int64_t i = 0; i < hd; ++i) x(b, t, h * hd + i) = offset + float(1000 * b + 100 * t + 10 * h + i);
  return x;
}

TEST(KvCache, EachSequenceAndHeadIsOneContiguousBlock) {
  nn::KvCache cache;
  cache.reserve(2, 5, 3, 4);
  EXPECT_EQ(cache.keys.shape(), (Shape{2, 3, 5, 4}));
  const Tensor<float> k = kv_cache_pattern(2, 2, 3, 4), v = kv_cache_pattern(2, 2, 3, 4, 0.5f);
  cache.store(k, v, 0);
  cache.length = 2;
  const auto keys = cache.filled_keys(), values = cache.filled_values();
  EXPECT_EQ(keys.shape(), (Shape{2, 3, 2, 4}));
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t h = 0; h < 3; ++h) {
      const float* block = &keys(b, h, 0, 0);
      EXPECT_EQ(block, cache.keys.data() + (b * 3 + h) * 5 * 4);
      for (std::int64_t t = 0; t < 2; ++t)
        for (std::int64_t i = 0; i < 4; ++i) {
          EXPECT_EQ(block[t * 4 + i], k(b, t, h * 4 + i));
          EXPECT_EQ(values(b, h, t, i), v(b, t, h * 4 + i));
        }
    }
}

TEST(KvCache, GrowingKeepsThePositionsAndSelectRowsCopiesThem) {
  nn::KvCache cache;
  cache.reserve(2, 2, 2, 3);
  const Tensor<float> first = kv_cache_pattern(2, 2, 2, 3), second = kv_cache_pattern(2, 1, 2, 3, 0.25f);
  cache.store(first, first, 0);
  cache.length = 2;
  cache.reserve(2, 7, 2, 3);
  EXPECT_EQ(cache.capacity(), 7);
  cache.store(second, second, 2);
  cache.length = 3;
  cache.select_rows({1, 1, 0});
  EXPECT_EQ(cache.keys.shape(), (Shape{3, 2, 7, 3}));
  const std::int64_t source[] = {1, 1, 0};
  for (std::int64_t r = 0; r < 3; ++r)
    for (std::int64_t h = 0; h < 2; ++h)
      for (std::int64_t i = 0; i < 3; ++i) {
        for (std::int64_t t = 0; t < 2; ++t) EXPECT_EQ(cache.filled_keys()(r, h, t, i), first(source[r], t, h * 3 + i));
        EXPECT_EQ(cache.filled_values()(r, h, 2, i), second(source[r], 0, h * 3 + i));
      }
  EXPECT_NE(test::error_of([&] { cache.reserve(4, 7, 2, 3); }).find("KvCache::reserve"), std::string::npos)
      << "a filled cache cannot change its batch";
}

TEST(KvCache, SplitHeadsViewsProjectionsAsTheCacheLayout) {
  const Tensor<float> x = kv_cache_pattern(2, 3, 4, 5);
  const auto heads = nn::split_heads<const float>(x, 4);
  EXPECT_EQ(heads.shape(), (Shape{2, 4, 3, 5}));
  EXPECT_EQ(heads(1, 2, 0, 3), x(1, 0, 2 * 5 + 3));
  EXPECT_EQ(heads(0, 3, 2, 4), x(0, 2, 3 * 5 + 4));
}

// Grouped-query self-attention (with and without a rotary embedding) fed one token at a time
// through forward_cached equals one forward over the whole sequence.
TEST(KvCache, CachedSelfAttentionMatchesTheFullForward) {
  const auto weights = test::torch_weights("mha_self_floatmask");
  nn::MultiHeadAttention base = torch_layout::multi_head_attention(*weights, "", 32, 4);
  const auto inputs = test::open_data("torch/mha_self_floatmask/inputs.safetensors");
  const Tensor<float> x = inputs.to_float("x");  // [B, L, 32]
  const std::int64_t batch = x.dim(0), length = x.dim(1);
  for (bool rotary : {false, true}) {
    nn::MultiHeadAttention mha = base;
    mha.num_kv_heads = 2;  // k/v projections cut to their first 2 heads
    mha.k_proj = nn::Linear(base.k_proj.weight.narrow(0, 0, 16), base.k_proj.bias.narrow(0, 0, 16));
    mha.v_proj = nn::Linear(base.v_proj.weight.narrow(0, 0, 16), base.v_proj.bias.narrow(0, 0, 16));
    if (rotary) mha.rotary = nn::RotaryEmbedding::make(8, 10000.0, 64);
    nn::AttentionMasks masks;
    masks.causal = true;
    Tensor<float> full({batch, length, 32});
    mha.forward(x, x, x, masks, full);
    nn::KvCache cache;
    cache.reserve(batch, 2, 2, 8);  // small: it has to grow
    for (std::int64_t t = 0; t < length; ++t) {
      nn::AttentionMasks step;
      step.causal = true;
      step.causal_offset = t;
      Tensor<float> out({batch, 1, 32});
      const Tensor<float> token = Tensor<float>::copy_of(x.view().narrow(1, t, 1));
      mha.forward_cached(token, cache, step, out);
      test::expect_close(out.view().reshape({batch, 32}), Tensor<float>::copy_of(full.view().narrow(1, t, 1)).view().reshape({batch, 32}),
                         1e-5, std::string(rotary ? "rotary " : "") + "step " + std::to_string(t));
    }
    EXPECT_EQ(cache.length, length);
  }
}

}  // namespace
}  // namespace qkv
