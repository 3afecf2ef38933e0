// Design principle 1: "A forward pass allocates nothing once its state has been sized." After a
// warm-up call with the same shapes, a decoding step, a prefill step, an encoder forward and an
// encoder-decoder decoding step allocate only the tensors they return.
//
// This executable replaces the global operator new/delete (every form, aligned ones included:
// Tensor and Workspace allocate through aligned operator new) with counting versions; it is its own
// test directory so the replacement stays out of the other test executables.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <variant>
#include <vector>

#include "qkv/generate/generate.hpp"
#include "qkv/generate/seq2seq.hpp"
#include "qkv/models/hf/load.hpp"
#include "support/reference.hpp"

namespace {

std::atomic<bool> counting{false};
std::atomic<long> allocations{0};

void* allocate_counted(std::size_t n, std::size_t alignment) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  void* p = nullptr;
  if (alignment <= alignof(std::max_align_t)) {
    p = std::malloc(n);
  } else if (posix_memalign(&p, alignment, n) != 0) {
    p = nullptr;
  }
  return p;
}

void* allocate_or_throw(std::size_t n, std::size_t alignment) {
  void* p = allocate_counted(n, alignment);
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t n) { return allocate_or_throw(n, 0); }
void* operator new[](std::size_t n) { return allocate_or_throw(n, 0); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return allocate_counted(n, 0); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate_counted(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate_or_throw(n, std::size_t(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate_or_throw(n, std::size_t(a)); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_counted(n, std::size_t(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_counted(n, std::size_t(a));
}
// GCC (-O1 and up) inlines these into gtest's `new TestClass` / delete pairs and then warns that
// free() receives memory from operator new: a false positive, since the operator new above is
// malloc/posix_memalign.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace qkv {
namespace {

// Heap allocations (on any thread) while f runs.
template <class F>
long allocations_during(F&& f) {
  allocations.store(0);
  counting.store(true);
  f();
  counting.store(false);
  return allocations.load();
}

// What MultiHeadAttention::attend allocates per (sequence, head) task on its own: its probability
// scratch is a Tensor until the attention computation in that task is replaced (another branch);
// then this is 0 and every expectation below is exact without it.
long attend_allocations_per_task() {
  const std::int64_t heads = 2, hd = 4, keys = 3;
  Tensor<float> q_weight({heads * hd, 8}), q({1, 1, heads * hd}), k({1, heads, keys, hd}), v({1, heads, keys, hd});
  Tensor<float> context({1, 1, heads * hd});
  nn::MultiHeadAttention attention;
  attention.q_proj = nn::Linear(q_weight.view());
  attention.num_heads = attention.num_kv_heads = heads;
  const auto run = [&] { attention.attend(q, k, v, nn::AttentionMasks{}, context); };
  run();  // warm-up
  return allocations_during(run) / heads;
}

// Attention tasks (sequence, head) of one pass through these attention layers for `batch` rows.
template <class Layers, class Heads>
long attention_tasks(const Layers& layers, std::int64_t batch, Heads&& heads_of) {
  long tasks = 0;
  for (const auto& layer : layers) tasks += long(batch * heads_of(layer));
  return tasks;
}

Tensor<std::int64_t> some_ids(std::int64_t batch, std::int64_t length, std::int64_t first) {
  Tensor<std::int64_t> ids({batch, length});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t t = 0; t < length; ++t) ids(b, t) = first + (3 * b + t) % 7;
  return ids;
}

TEST(AllocationCounting, CountsTensorsVectorsAndOtherThreads) {
  EXPECT_EQ(allocations_during([] { Tensor<float> t({4}); }), 1);
  EXPECT_EQ(allocations_during([] { std::vector<int> v(3); }), 1);
  ThreadPool pool(2);
  EXPECT_EQ(allocations_during([&] { pool.run(2, [](std::int64_t) { Tensor<float> t({4}); }); }), 2);
  EXPECT_LE(attend_allocations_per_task(), 1);  // at most its probability scratch (see there)
}

class DecoderAllocations : public ::testing::TestWithParam<const char*> {};

TEST_P(DecoderAllocations, StepsAllocateOnlyTheirLogitsOnceWarm) {
  const auto model = std::get<DecoderModel>(load(test::data_path(std::string("hf/") + GetParam())));
  const long per_task = attend_allocations_per_task();
  for (int threads : {1, 3})
  for (std::int64_t batch : {1, 2}) {
    ThreadPool pool(threads);  // workers take their scratch from their own workspaces
    UseThreadPool use(pool);
    const std::string what = std::string(GetParam()) + " threads " + std::to_string(threads) + " batch " + std::to_string(batch);
    const long tasks = attention_tasks(model.layers.layers, batch, [](const nn::EncoderBlock& l) { return l.self_attn.num_heads; });
    const Tensor<std::int64_t> prompt = some_ids(batch, 5, 3), next = some_ids(batch, 1, 4);
    DecoderState state = model.start(batch, 16);
    model.step(state, prompt);  // warm-up: prefill and one decoding step
    model.step(state, next);
    EXPECT_EQ(allocations_during([&] { model.step(state, next); }), 1 + tasks * per_task) << what << " decode";
    EXPECT_EQ(allocations_during([&] { model.step(state, next); }), 1 + tasks * per_task) << what << " decode again";
    state.clear();  // the next request on the same state: a prefill of the warm-up's shape
    EXPECT_EQ(allocations_during([&] { model.step(state, prompt); }), 1 + tasks * per_task) << what << " prefill";
  }
}

INSTANTIATE_TEST_SUITE_P(Hf, DecoderAllocations, ::testing::Values("gpt2_a", "llama_a", "llama_gqa"));

TEST(EncoderAllocations, ForwardAllocatesOnlyItsOutputsOnceWarm) {
  const auto model = std::get<EncoderModel>(load(test::data_path("hf/bert_a")));
  const long per_task = attend_allocations_per_task();
  const Tensor<std::int64_t> ids = some_ids(2, 7, 3);
  Tensor<std::int64_t> mask({2, 7}, 1);
  mask(1, 5) = mask(1, 6) = 0;
  const long tasks = attention_tasks(model.encoder.layers, 2, [](const nn::EncoderBlock& l) { return l.self_attn.num_heads; });
  long outputs = 0;
  {
    const EncoderOutput warm = model.forward(ids, mask);
    outputs = long(!!warm.last_hidden_state.data()) + long(!!warm.pooler_output.data()) + long(!!warm.logits.data());
  }
  EXPECT_EQ(allocations_during([&] { model.forward(ids, mask); }), outputs + tasks * per_task);
}

class Seq2SeqAllocations : public ::testing::TestWithParam<const char*> {};

TEST_P(Seq2SeqAllocations, DecodingStepsAllocateOnlyTheirLogitsOnceWarm) {
  const auto model = std::get<EncoderDecoderModel>(load(test::data_path(std::string("hf/") + GetParam())));
  const long per_task = attend_allocations_per_task();
  for (std::int64_t batch : {1, 2}) {
    const std::string what = std::string(GetParam()) + " batch " + std::to_string(batch);
    const long tasks = attention_tasks(model.decoder.layers, batch, [](const nn::DecoderBlock& l) {
      return l.self_attn.num_heads + l.cross_attn.num_heads;
    });
    const Tensor<std::int64_t> source = some_ids(batch, 6, 3), next = some_ids(batch, 1, 4);
    Seq2SeqState state = model.start(source, {}, 16);
    model.step(state, next);  // warm-up
    EXPECT_EQ(allocations_during([&] { model.step(state, next); }), 1 + tasks * per_task) << what;
    EXPECT_EQ(allocations_during([&] { model.step(state, next); }), 1 + tasks * per_task) << what << " again";
  }
}

INSTANTIATE_TEST_SUITE_P(Hf, Seq2SeqAllocations, ::testing::Values("bart_a", "marian_a", "t5_a"));

TEST(WorkspaceAllocations, GrowingKeepsEarlierViewsAndMergesWhenEmpty) {
  Workspace ws;
  {
    Workspace::Scope outer(ws);
    const auto a = outer.take<float>({100});
    for (std::int64_t i = 0; i < 100; ++i) a(i) = float(i);
    {
      Workspace::Scope inner(ws);
      const auto big = inner.take<float>({1 << 16});  // does not fit the first block: a second one
      big(0) = 1.0f;
      EXPECT_EQ(a(99), 99.0f);  // the first view still holds its data
    }
    const auto b = outer.take<std::int64_t>({3});  // reuses the freed space
    b(2) = 7;
    EXPECT_EQ(a(0), 0.0f);
  }
  const std::size_t merged = ws.capacity();
  EXPECT_GE(merged, sizeof(float) * ((1 << 16) + 100));
  EXPECT_EQ(allocations_during([&] {
              Workspace::Scope again(ws);
              again.take<float>({100});
              again.take<float>({1 << 16});
            }),
            0);
  EXPECT_EQ(ws.capacity(), merged);
}

}  // namespace
}  // namespace qkv
