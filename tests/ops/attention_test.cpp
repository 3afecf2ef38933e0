#include "qkv/ops/attention.hpp"

#include <cstring>
#include <vector>

#include "support/reference.hpp"

namespace qkv {
namespace {

// fixtures/ops_attention.safetensors: softmax(q k^T * scale + mask) v in float64, for
// (Lq, Lk, d, dv) from (1, 1, 8, 8) to (5, 1000, 8, 8); scale 1/sqrt(d) or 1 (T5).
class AttentionCase : public ::testing::TestWithParam<int> {};

TEST_P(AttentionCase, EveryMaskKindMatchesReference) {
  const auto file = test::open_data("fixtures/ops_attention.safetensors");
  const std::string p = "c" + std::to_string(GetParam()) + ".";
  const Tensor<float> q = file.to_float(p + "q"), k = file.to_float(p + "k"), v = file.to_float(p + "v");
  const float scale = file.to_float(p + "scale")(0);
  const std::int64_t lq = q.dim(0), lk = k.dim(0);
  const Tensor<std::int64_t> padding64 = file.to_int64(p + "key_padding"), blocked64 = file.to_int64(p + "bool_mask");
  Tensor<std::uint8_t> padding({lk}), blocked({lq, lk});
  for (std::int64_t i = 0; i < lk; ++i) padding(i) = std::uint8_t(padding64(i));
  for (std::int64_t i = 0; i < lq * lk; ++i) blocked.data()[i] = std::uint8_t(blocked64.data()[i]);
  const Tensor<float> float_mask = file.to_float(p + "float_mask");

  test::for_each_isa([&](Isa) {
    Tensor<float> out({lq, v.dim(1)}), probs({lq, lk});
    auto run = [&](const ops::AttentionMask& mask, const std::string& expected) {
      ops::attention(q, k, v, scale, mask, out, probs);
      test::expect_close(out, file.to_float(p + expected), 1e-5, "attention " + p + expected);
    };
    run({}, "out_nomask");
    ops::AttentionMask causal;
    causal.causal = true;
    causal.causal_offset = lk - lq;  // the queries are the last Lq positions
    run(causal, "out_causal");
    ops::AttentionMask keypad;
    keypad.key_padding = padding.data();
    run(keypad, "out_keypad");
    ops::AttentionMask boolean;
    boolean.blocked = blocked.view();
    run(boolean, "out_boolmask");
    ops::AttentionMask additive;
    additive.additive = float_mask.view();
    run(additive, "out_floatmask");
    test::expect_close(probs, file.to_float(p + "probs_floatmask"), 1e-5, "attention probs " + p);
  });
}

INSTANTIATE_TEST_SUITE_P(Sizes, AttentionCase, ::testing::Values(0, 1, 2, 3, 4));

TEST(Attention, FullyMaskedQueryGetsZeroOutput) {
  const auto file = test::open_data("fixtures/ops_attention.safetensors");
  const Tensor<float> q = file.to_float("fullymasked.q"), k = file.to_float("fullymasked.k"),
                      v = file.to_float("fullymasked.v");
  const Tensor<std::int64_t> blocked64 = file.to_int64("fullymasked.bool_mask");
  Tensor<std::uint8_t> blocked(blocked64.shape());
  for (std::int64_t i = 0; i < blocked.numel(); ++i) blocked.data()[i] = std::uint8_t(blocked64.data()[i]);
  Tensor<float> out({3, 8}), probs({3, 4});
  ops::AttentionMask mask;
  mask.blocked = blocked.view();
  ops::attention(q, k, v, file.to_float("fullymasked.scale")(0), mask, out, probs);
  test::expect_close(out, file.to_float("fullymasked.out"), 1e-5, "attention fully masked row");
  test::expect_close(probs, file.to_float("fullymasked.probs"), 1e-5, "attention fully masked probs");
}

TEST(Attention, HeadViewsWithRowStride) {
  // One head taken out of a [L, 2 * d] buffer must equal the same head stored contiguously.
  const auto file = test::open_data("fixtures/ops_attention.safetensors");
  const Tensor<float> q = file.to_float("c1.q"), k = file.to_float("c1.k"), v = file.to_float("c1.v");
  Tensor<float> wide_q({7, 16}), wide_k({7, 16}), wide_v({7, 16});
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j < 8; ++j) wide_q(i, 8 + j) = q(i, j), wide_k(i, 8 + j) = k(i, j), wide_v(i, 8 + j) = v(i, j);
  Tensor<float> wide_out({7, 16}), probs({7, 7});
  ops::attention(wide_q.view().narrow(1, 8, 8), wide_k.view().narrow(1, 8, 8), wide_v.view().narrow(1, 8, 8),
                 file.to_float("c1.scale")(0), {}, wide_out.view().narrow(1, 8, 8), probs);
  test::expect_close(wide_out.view().narrow(1, 8, 8), file.to_float("c1.out_nomask"), 1e-5, "attention strided head");
}

TEST(Attention, RejectsMismatchedShapes) {
  Tensor<float> q({2, 4}), k({3, 5}), v({3, 4}), out({2, 4}), probs({2, 3});
  EXPECT_THROW(ops::attention(q, k, v, 1.0f, {}, out, probs), Error);
}

TEST(Attention, OutputBitsDoNotDependOnWhetherProbsAreWanted) {
  // Without probs no [Lq, Lk] buffer is needed (the fused kernel); the output keeps its bits.
  const auto file = test::open_data("fixtures/ops_attention.safetensors");
  const std::string p = "c3.";
  const Tensor<float> q = file.to_float(p + "q"), k = file.to_float(p + "k"), v = file.to_float(p + "v");
  const Tensor<float> float_mask = file.to_float(p + "float_mask");
  test::for_each_isa([&](Isa) {
    ops::AttentionMask mask;
    mask.causal = true;
    mask.causal_offset = k.dim(0) - q.dim(0);
    mask.additive = float_mask.view();
    Tensor<float> with({q.dim(0), v.dim(1)}), without({q.dim(0), v.dim(1)}), probs({q.dim(0), k.dim(0)});
    ops::attention(q, k, v, file.to_float(p + "scale")(0), mask, with, probs);
    ops::attention(q, k, v, file.to_float(p + "scale")(0), mask, without, {});
    EXPECT_EQ(std::memcmp(with.data(), without.data(), std::size_t(with.numel()) * sizeof(float)), 0);
  });
}

TEST(Attention, MaskViewsWithoutContiguousRows) {
  // A transposed additive mask and a broadcast boolean mask (row stride 0 and column stride 0) are
  // read as the views say: the same bits as contiguous copies.
  Tensor<float> q({3, 4}), k({2, 4}), v({2, 3}), bias_t({2, 3});  // bias_t: the additive mask [Lk, Lq]
  for (std::int64_t i = 0; i < q.numel(); ++i) q.data()[i] = float(i % 5) - 2.0f;
  for (std::int64_t i = 0; i < k.numel(); ++i) k.data()[i] = float(i % 3) - 1.0f;
  for (std::int64_t i = 0; i < v.numel(); ++i) v.data()[i] = float(i) - 2.5f;
  for (std::int64_t i = 0; i < bias_t.numel(); ++i) bias_t.data()[i] = 0.25f * float(i) - 0.5f;
  const std::uint8_t allowed = 0;
  using Strides = TensorView<const float>::Strides;
  test::for_each_isa([&](Isa) {
    ops::AttentionMask strided;
    strided.additive = TensorView<const float>(bias_t.data(), {3, 2}, Strides{1, 3});
    strided.blocked = TensorView<const std::uint8_t>(&allowed, {3, 2}, Strides{0, 0});
    const Tensor<float> bias = Tensor<float>::copy_of(strided.additive);
    ops::AttentionMask plain;
    plain.additive = bias.view();
    Tensor<float> a({3, 3}), b({3, 3});
    ops::attention(q, k, v, 0.5f, strided, a, {});
    ops::attention(q, k, v, 0.5f, plain, b, {});
    EXPECT_EQ(std::memcmp(a.data(), b.data(), sizeof(float) * 9), 0);
  });
}

}  // namespace
}  // namespace qkv
