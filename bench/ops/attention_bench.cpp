// One head of scaled dot-product attention, head size 64, single thread, per ISA:
//
//   fused/<isa>/<shape>     KernelTable::attention: query tiles against key tiles with an online
//                           softmax, no [Lq, Lk] buffer (what ops::attention runs)
//   unfused/<isa>/<shape>   matmul_nt (scores) + scale and causal mask + softmax_rows + matmul_nn
//                           on a [Lq, Lk] buffer allocated once, outside the timing
//
// Shapes: prefill Lq = Lk = 128 and 512, causal and not; decode Lq = 1 against Lk = 128, 512 and
// 1024 cached keys (causal with offset Lk - 1, which every key passes). Counter: GFLOP/s of the
// dense work, 4 Lq Lk d per iteration (two matrix products), also for causal rows, so causal
// rows' GFLOP/s show what skipping the masked half saves. The generic ISA (double accumulation,
// scores recomputed per pass) is left out: it is the reference, not a contender.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "qkv/core/tensor.hpp"
#include "qkv/kernels/dispatch.hpp"

namespace {

using Index = std::int64_t;
constexpr Index kHeadSize = 64;

struct Operands {
  Index lq, lk;
  qkv::Tensor<float> q, k, v, out, scores;
  Operands(Index lq_, Index lk_)
      : lq(lq_), lk(lk_), q({lq_, kHeadSize}), k({lk_, kHeadSize}), v({lk_, kHeadSize}), out({lq_, kHeadSize}),
        scores({lq_, lk_}) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (auto* t : {&q, &k, &v})
      for (Index i = 0; i < t->numel(); ++i) t->data()[i] = dist(rng);
  }
};

void set_counters(benchmark::State& state, Index lq, Index lk) {
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * double(lq) * double(lk) * double(kHeadSize) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void fused(benchmark::State& state, qkv::Isa isa, Index lq, Index lk, bool causal) {
  const auto& kt = *qkv::kernels::table_for(isa);
  Operands o(lq, lk);
  qkv::kernels::AttentionKernelMask mask;
  mask.causal = causal;
  mask.causal_offset = lk - lq;
  const float scale = 0.125f;
  for (auto _ : state) {
    kt.attention(o.q.data(), kHeadSize, o.k.data(), kHeadSize, o.v.data(), kHeadSize, o.out.data(), kHeadSize, lq, lk,
                 kHeadSize, kHeadSize, scale, mask);
    benchmark::DoNotOptimize(o.out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, lq, lk);
}

// ops::attention's former path, on a preallocated buffer.
void unfused(benchmark::State& state, qkv::Isa isa, Index lq, Index lk, bool causal) {
  const auto& kt = *qkv::kernels::table_for(isa);
  Operands o(lq, lk);
  const float scale = 0.125f;
  const Index offset = lk - lq;
  for (auto _ : state) {
    kt.matmul_nt(o.q.data(), kHeadSize, o.k.data(), kHeadSize, o.scores.data(), lk, lq, lk, kHeadSize, nullptr);
    for (Index i = 0; i < lq; ++i) {
      float* row = o.scores.data() + i * lk;
      const Index visible = causal ? std::min(lk, i + offset + 1) : lk;
      for (Index j = 0; j < visible; ++j) row[j] *= scale;
      for (Index j = visible; j < lk; ++j) row[j] = -std::numeric_limits<float>::infinity();
    }
    kt.softmax_rows(o.scores.data(), lq, lk, lk);
    kt.matmul_nn(o.scores.data(), lk, o.v.data(), kHeadSize, o.out.data(), kHeadSize, lq, kHeadSize, lk);
    benchmark::DoNotOptimize(o.out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, lq, lk);
}

struct Shape {
  const char* name;
  Index lq, lk;
  bool causal;
};

const Shape kShapes[] = {
    {"prefill/L:128", 128, 128, false},      {"prefill/L:128/causal", 128, 128, true},
    {"prefill/L:512", 512, 512, false},      {"prefill/L:512/causal", 512, 512, true},
    {"decode/Lk:128", 1, 128, true},         {"decode/Lk:512", 1, 512, true},
    {"decode/Lk:1024", 1, 1024, true},
};

const int registered = [] {
  for (const Shape& s : kShapes)
    for (qkv::Isa isa : qkv::usable_isas()) {
      if (isa == qkv::Isa::generic) continue;
      const std::string suffix = std::string(qkv::isa_name(isa)) + "/" + s.name;
      benchmark::RegisterBenchmark(("fused/" + suffix).c_str(), fused, isa, s.lq, s.lk, s.causal)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("unfused/" + suffix).c_str(), unfused, isa, s.lq, s.lk, s.causal)
          ->Unit(benchmark::kMicrosecond);
    }
  return 0;
}();

}  // namespace
