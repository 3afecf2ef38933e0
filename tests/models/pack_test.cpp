// Packing at load time changes how a product is computed, never its bits: q | k | v as one fused
// projection (models/pack.hpp) gives exactly what three separate packed projections give, for
// widths that are and are not whole 16-column panels, with grouped-query heads, through the
// stateless forward and the cached (decode) path, on every ISA.
#include <gtest/gtest.h>

#include <cstring>

#include "qkv/models/pack.hpp"
#include "support/hf_case.hpp"
#include "support/reference.hpp"

namespace qkv {
namespace {

struct Weights {
  WeightStore store;
  std::uint32_t seed = 11;
  TensorView<const float> random(Shape shape, const std::string& name) {
    return store.keep(name, test::pseudo_random(shape, seed++, 0.5f));
  }
};

nn::MultiHeadAttention random_attention(Weights& w, std::int64_t d, std::int64_t heads, std::int64_t kv_heads,
                                        std::int64_t head_dim) {
  nn::MultiHeadAttention a;
  a.num_heads = heads;
  a.num_kv_heads = kv_heads;
  a.scale = 1.0f / std::sqrt(float(head_dim));
  a.q_proj = {w.random({heads * head_dim, d}, "q"), w.random({heads * head_dim}, "q.bias")};
  a.k_proj = {w.random({kv_heads * head_dim, d}, "k")};  // no bias: zeros in the fused one
  a.v_proj = {w.random({kv_heads * head_dim, d}, "v"), w.random({kv_heads * head_dim}, "v.bias")};
  a.out_proj = {w.random({d, heads * head_dim}, "o"), w.random({d}, "o.bias")};
  return a;
}

bool same_bits(TensorView<const float> a, TensorView<const float> b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * std::size_t(a.numel())) == 0;
}

TEST(PackFusedQkv, GivesTheBitsOfThreeSeparateProjections) {
  struct Shape4 {
    std::int64_t d, heads, kv_heads, head_dim;
  };
  // 3 x 8 = 24 wide: parts padded to 32 columns; 4 x 8 = 32: whole panels; GQA 4 -> 2 heads.
  for (const Shape4 s : {Shape4{24, 3, 3, 8}, Shape4{32, 4, 4, 8}, Shape4{40, 4, 2, 10}}) {
    Weights w;
    nn::MultiHeadAttention separate = random_attention(w, s.d, s.heads, s.kv_heads, s.head_dim);
    nn::MultiHeadAttention fused = separate;
    pack_linears(separate, w.store);
    pack_fused_qkv(fused, w.store);
    pack_linears(fused, w.store);
    ASSERT_TRUE(separate.qkv_proj.empty());
    ASSERT_FALSE(fused.qkv_proj.empty());
    const std::int64_t batch = 2, length = 19;
    const Tensor<float> x = test::pseudo_random({batch, length, s.d}, 3, 1.0f);
    test::for_each_isa([&](Isa isa) {
      for (int threads : {1, 2}) {
        ThreadPool pool(threads);
        UseThreadPool use(pool);
        nn::AttentionMasks masks;
        masks.causal = true;
        Tensor<float> a({batch, length, s.d}), b({batch, length, s.d});
        separate.forward(x, x, x, masks, a);
        fused.forward(x, x, x, masks, b);
        EXPECT_TRUE(same_bits(a, b)) << isa_name(isa) << " forward, d " << s.d << ", threads " << threads;
        // Prefill 16 tokens, then one step, through the caches.
        nn::KvCache cache_a, cache_b;
        for (auto [from, count] : {std::pair<std::int64_t, std::int64_t>{0, 16}, {16, 1}}) {
          nn::AttentionMasks step;
          step.causal = true;
          step.causal_offset = from;
          Tensor<float> in({batch, count, s.d});
          for (std::int64_t b = 0; b < batch; ++b)
            for (std::int64_t t = 0; t < count; ++t)
              for (std::int64_t c = 0; c < s.d; ++c) in(b, t, c) = x(b, from + t, c);
          Tensor<float> ca({batch, count, s.d}), cb({batch, count, s.d});
          separate.forward_cached(in, cache_a, step, ca);
          fused.forward_cached(in, cache_b, step, cb);
          EXPECT_TRUE(same_bits(ca, cb)) << isa_name(isa) << " cached from " << from << ", d " << s.d;
        }
      }
    });
  }
}

}  // namespace
}  // namespace qkv
