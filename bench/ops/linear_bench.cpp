// y = x W^T at GPT-2-small / BERT-base shapes, through qkv's active kernels (one row per usable
// ISA) and through Eigen's GEMM compiled with this program's flags, as the same-run reference.
// Reports GFLOP/s; compare the qkv rows with the eigen rows of the same shape.
#include <benchmark/benchmark.h>

#include <random>

#include "qkv/ops/linear.hpp"

namespace {

struct Operands {
  qkv::Tensor<float> x, w, y;
  Operands(std::int64_t m, std::int64_t k, std::int64_t n) : x({m, k}), w({n, k}), y({m, n}) {
    std::mt19937 rng(42);
    std::normal_distribution<float> normal;
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = normal(rng);
    for (std::int64_t i = 0; i < w.numel(); ++i) w.data()[i] = normal(rng);
  }
};

void set_counters(benchmark::State& state, std::int64_t m, std::int64_t k, std::int64_t n) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * double(m * k * n), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void qkv_linear(benchmark::State& state, qkv::Isa isa) {
  const std::int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  qkv::set_isa(isa);
  Operands o(m, k, n);
  for (auto _ : state) {
    qkv::ops::linear(o.x, o.w, {}, o.y);
    benchmark::DoNotOptimize(o.y.data());
  }
  set_counters(state, m, k, n);
}

void eigen_linear(benchmark::State& state) {
  const std::int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  Operands o(m, k, n);
  for (auto _ : state) {
    o.y.view().matrix().noalias() = o.x.view().matrix() * o.w.view().matrix().transpose();
    benchmark::DoNotOptimize(o.y.data());
  }
  set_counters(state, m, k, n);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (std::int64_t m : {1, 32, 128})
    for (auto [k, n] : {std::pair<std::int64_t, std::int64_t>{768, 768}, {768, 3072}, {3072, 768}}) b->Args({m, k, n});
  b->ArgNames({"M", "K", "N"})->Unit(benchmark::kMillisecond);
}

const int registered = [] {
  for (qkv::Isa isa : qkv::usable_isas())
    benchmark::RegisterBenchmark(("qkv_linear/" + std::string(qkv::isa_name(isa))).c_str(), qkv_linear, isa)->Apply(shapes);
  benchmark::RegisterBenchmark("eigen_linear", eigen_linear)->Apply(shapes);
  return 0;
}();

}  // namespace
