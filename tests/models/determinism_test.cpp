// qkv's determinism guarantee, on every ISA: results are bitwise identical for any thread count,
// and a sequence's results are bitwise identical whether it runs alone or padded inside a batch
// (right padding for encoders, left padding for decoders, during prefill and cached decoding).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "qkv/core/thread_pool.hpp"
#include "qkv/models/hf/load.hpp"
#include "qkv/ops/activation.hpp"
#include "qkv/ops/add.hpp"
#include "qkv/ops/linear.hpp"
#include "qkv/ops/norm.hpp"
#include "support/reference.hpp"

namespace qkv {
namespace {

// Bitwise equality of two float ranges, reporting the first difference.
void expect_same_bits(const float* got, const float* want, std::int64_t n, const std::string& what) {
  for (std::int64_t i = 0; i < n; ++i)
    if (std::memcmp(got + i, want + i, sizeof(float)) != 0) {
      ADD_FAILURE() << what << ": first difference at " << i << ": " << got[i] << " vs " << want[i];
      return;
    }
}

void expect_same_bits(const Tensor<float>& got, const Tensor<float>& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  expect_same_bits(got.data(), want.data(), got.numel(), what);
}

void expect_same_bits(const std::vector<Tensor<float>>& got, const std::vector<Tensor<float>>& want,
                      const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) expect_same_bits(got[i], want[i], what + " output " + std::to_string(i));
}

// run() on one thread and then on each of `thread_counts` threads: bitwise the same results.
template <class Run>
void expect_same_for_any_thread_count(Run&& run, std::initializer_list<int> thread_counts, const std::string& what) {
  const auto want = [&] {
    ThreadPool one(1);
    UseThreadPool use(one);
    return run();
  }();
  for (int threads : thread_counts) {
    ThreadPool pool(threads);
    UseThreadPool use(pool);
    expect_same_bits(run(), want, what + " threads=" + std::to_string(threads));
  }
}

Tensor<std::int64_t> ids_of(const std::vector<std::vector<std::int64_t>>& rows, std::int64_t length, bool left_pad,
                            Tensor<std::int64_t>* mask, Tensor<std::int64_t>* positions = nullptr) {
  const std::int64_t batch = std::int64_t(rows.size());
  Tensor<std::int64_t> ids({batch, length});
  *mask = Tensor<std::int64_t>({batch, length});
  if (positions) *positions = Tensor<std::int64_t>({batch, length});
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t n = std::int64_t(rows[std::size_t(b)].size()), pad = length - n, start = left_pad ? pad : 0;
    for (std::int64_t t = 0; t < n; ++t) {
      ids(b, start + t) = rows[std::size_t(b)][std::size_t(t)];
      (*mask)(b, start + t) = 1;
      if (positions) (*positions)(b, start + t) = t;
    }
  }
  return ids;
}

std::vector<std::int64_t> random_ids(std::int64_t n, std::int64_t vocab, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
  for (auto& id : ids) id = std::int64_t(rng() % std::uint32_t(vocab - 3)) + 3;
  return ids;
}

// 9 and 20 rows split the output's columns over the threads (too few rows for each to take its
// own; 9 are packed by every thread, 20 once for all); 70 rows split the rows, over 2, 3 and 4.
TEST(Determinism, LinearIsBitwiseTheSameForAnyThreadCount) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  Tensor<float> w({1000, 300}), bias({1000});
  for (auto* t : {&w, &bias})
    for (std::int64_t i = 0; i < t->numel(); ++i) t->data()[i] = normal(rng);
  const Tensor<float> panels = ops::pack_weight(w);
  for (std::int64_t rows : {9, 20, 70}) {
    Tensor<float> x({rows, 300});
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = normal(rng);
    test::for_each_isa([&](Isa isa) {
      const auto run = [&] {
        std::vector<Tensor<float>> out;  // packed, then the plain [N, K] weight
        for (int i = 0; i < 2; ++i) out.emplace_back(Shape{rows, 1000});
        ops::linear(x, ops::packed_view(panels, 1000), bias, out[0]);
        ops::linear(x, w, bias, out[1]);
        return out;
      };
      expect_same_for_any_thread_count(run, {2, 3, 4}, std::string(isa_name(isa)) + " rows=" + std::to_string(rows));
    });
  }
}

// Norms, activations and residual adds split their rows over the threads from 2^15 elements on.
TEST(Determinism, RowWiseOpsAreBitwiseTheSameForAnyThreadCount) {
  std::mt19937 rng(2);
  std::normal_distribution<float> normal;
  const std::int64_t rows = 70, cols = 1000;  // 70 000 elements: split
  Tensor<float> x({rows, cols}), y({rows, cols}), weight({cols}), bias({cols});
  for (auto* t : {&x, &y, &weight, &bias})
    for (std::int64_t i = 0; i < t->numel(); ++i) t->data()[i] = normal(rng);
  const auto run = [&] {  // layer norm, RMS norm, add, GELU, gated SiLU
    std::vector<Tensor<float>> out;
    for (int i = 0; i < 5; ++i) out.emplace_back(Shape{rows, cols});
    ops::layer_norm(x, weight, bias, 1e-5f, out[0]);
    ops::rms_norm(x, weight, 1e-6f, out[1]);
    ops::add(x, y, out[2]);
    out[3] = Tensor<float>::copy_of(x);
    ops::activate(Activation::gelu_erf, out[3]);
    ops::activate_gated(Activation::silu, x, y, out[4]);
    return out;
  };
  test::for_each_isa([&](Isa isa) { expect_same_for_any_thread_count(run, {2, 3}, std::string(isa_name(isa))); });
}

TEST(Determinism, ModelsAreBitwiseTheSameForAnyThreadCount) {
  for (const std::string name : {"gpt2_a", "bert_a", "bart_a"}) {
    const Model model = load(test::data_path("hf/" + name));
    Tensor<std::int64_t> mask;
    const auto ids = ids_of({random_ids(9, 150, 1), random_ids(6, 150, 2)}, 9, false, &mask);
    const auto run = [&]() -> Tensor<float> {
      if (const auto* m = std::get_if<DecoderModel>(&model)) return m->forward(ids, mask).logits;
      if (const auto* m = std::get_if<EncoderModel>(&model)) return m->forward(ids, mask).last_hidden_state;
      return std::get<EncoderDecoderModel>(model).forward(ids, mask, ids).logits;
    };
    test::for_each_isa(
        [&](Isa isa) { expect_same_for_any_thread_count(run, {2, 3}, name + " " + std::string(isa_name(isa))); });
  }
}

// An encoder's sequence, alone and right-padded next to a longer one.
TEST(Determinism, EncoderRowsAreBitwiseTheSameAloneAndInABatch) {
  const auto model = std::get<EncoderModel>(load(test::data_path("hf/bert_a")));
  const auto short_ids = random_ids(5, 150, 3), long_ids = random_ids(11, 150, 4);
  test::for_each_isa([&](Isa isa) {
    Tensor<std::int64_t> alone_mask, batch_mask;
    const auto alone_ids = ids_of({short_ids}, 5, false, &alone_mask);
    const auto batch_ids = ids_of({long_ids, short_ids}, 11, false, &batch_mask);
    const auto alone = model.forward(alone_ids, alone_mask).last_hidden_state;
    const auto batch = model.forward(batch_ids, batch_mask).last_hidden_state;
    expect_same_bits(batch.view().select(1).data(), alone.data(), alone.numel(), std::string(isa_name(isa)) + " bert_a");
  });
}

// A decoder's sequence, alone and left-padded next to a longer one: the prompt's logits, then each
// cached decoding step's.
TEST(Determinism, DecoderRowsAreBitwiseTheSameAloneAndLeftPaddedInABatch) {
  for (const std::string name : {"gpt2_a", "llama_gqa"}) {
    const auto model = std::get<DecoderModel>(load(test::data_path("hf/" + name)));
    const auto short_ids = random_ids(4, 150, 5), long_ids = random_ids(10, 150, 6);
    test::for_each_isa([&](Isa isa) {
      const std::string what = name + " " + std::string(isa_name(isa));
      Tensor<std::int64_t> alone_mask, alone_positions, batch_mask, batch_positions;
      const auto alone_ids = ids_of({short_ids}, 4, true, &alone_mask, &alone_positions);
      const auto batch_ids = ids_of({long_ids, short_ids}, 10, true, &batch_mask, &batch_positions);
      ForwardOptions alone_options, batch_options;
      alone_options.position_ids = alone_positions;
      batch_options.position_ids = batch_positions;
      const auto alone = model.forward(alone_ids, alone_mask, alone_options).logits;
      const auto batch = model.forward(batch_ids, batch_mask, batch_options).logits;
      const std::int64_t vocab = alone.dim(2);
      expect_same_bits(batch.view().select(1).narrow(0, 6, 4).data(), alone.data(), 4 * vocab, what + " prompt");

      auto alone_state = model.start(1, 16);
      auto batch_state = model.start(2, 16);
      Tensor<float> alone_step = model.step(alone_state, alone_ids, alone_mask, alone_positions);
      Tensor<float> batch_step = model.step(batch_state, batch_ids, batch_mask, batch_positions);
      for (std::int64_t t = 0; t < 3; ++t) {
        expect_same_bits(batch_step.view().select(1).data(), alone_step.data(), vocab,
                         what + " step " + std::to_string(t));
        Tensor<std::int64_t> next_alone({1, 1}), next_batch({2, 1}), pos_alone({1, 1}), pos_batch({2, 1});
        next_alone(0, 0) = next_batch(1, 0) = 7 + t;
        next_batch(0, 0) = 9;
        pos_alone(0, 0) = pos_batch(1, 0) = 4 + t;
        pos_batch(0, 0) = 10 + t;
        alone_step = model.step(alone_state, next_alone, {}, pos_alone);
        batch_step = model.step(batch_state, next_batch, {}, pos_batch);
      }
    });
  }
}

}  // namespace
}  // namespace qkv
