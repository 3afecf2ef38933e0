// The elementwise kernels (softmax, layer/RMS norm, activations) per ISA: generic vs avx2 vs
// avx512, called directly, on 64 rows of n = 768 and 3072. Reports elements per second.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "qkv/kernels/avx2/elementwise.hpp"
#include "qkv/kernels/avx512/elementwise.hpp"
#include "qkv/kernels/dispatch.hpp"
#include "qkv/kernels/generic.hpp"

namespace {

using qkv::Activation;
namespace k = qkv::kernels;

constexpr std::int64_t kRows = 64;

struct Kernels {
  decltype(&k::generic::softmax_rows) softmax_rows;
  decltype(&k::generic::layer_norm_rows) layer_norm_rows;
  decltype(&k::generic::rms_norm_rows) rms_norm_rows;
  decltype(&k::generic::activate) activate;
};

Kernels kernels_for(qkv::Isa isa) {
  switch (isa) {
    case qkv::Isa::avx2: return {k::avx2::softmax_rows, k::avx2::layer_norm_rows, k::avx2::rms_norm_rows, k::avx2::activate};
    case qkv::Isa::avx512:
      return {k::avx512::softmax_rows, k::avx512::layer_norm_rows, k::avx512::rms_norm_rows, k::avx512::activate};
    default: return {k::generic::softmax_rows, k::generic::layer_norm_rows, k::generic::rms_norm_rows, k::generic::activate};
  }
}

std::vector<float> random_values(std::int64_t count) {
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (float& x : v) x = normal(rng);
  return v;
}

// kind: 0 softmax, 1 layer norm, 2 rms norm, 3 + a: activation a.
void run(benchmark::State& state, qkv::Isa isa, int kind) {
  if (!qkv::cpu_supports(isa)) {
    state.SkipWithError("ISA not supported here");
    return;
  }
  const Kernels kern = kernels_for(isa);
  const std::int64_t n = state.range(0);
  const std::vector<float> input = random_values(kRows * n), weight = random_values(n);
  std::vector<float> x = input, y(input.size());
  for (auto _ : state) {
    if (kind == 0) {
      state.PauseTiming();
      x = input;
      state.ResumeTiming();
      kern.softmax_rows(x.data(), kRows, n, n);
    } else if (kind == 1) {
      kern.layer_norm_rows(x.data(), n, y.data(), n, kRows, n, weight.data(), weight.data(), 1e-5f);
    } else if (kind == 2) {
      kern.rms_norm_rows(x.data(), n, y.data(), n, kRows, n, weight.data(), 1e-6f);
    } else {
      state.PauseTiming();
      x = input;
      state.ResumeTiming();
      kern.activate(Activation(kind - 3), x.data(), kRows * n);
    }
    benchmark::DoNotOptimize(x.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * kRows * n);
}

void register_all() {
  const char* kinds[] = {"softmax", "layer_norm", "rms_norm", "relu", "gelu_erf", "gelu_tanh", "silu", "tanh"};
  for (int kind = 0; kind < 8; ++kind)
    for (qkv::Isa isa : {qkv::Isa::generic, qkv::Isa::avx2, qkv::Isa::avx512})
      benchmark::RegisterBenchmark((std::string(kinds[kind]) + "/" + std::string(qkv::isa_name(isa))).c_str(),
                                   [isa, kind](benchmark::State& s) { run(s, isa, kind); })
          ->Arg(768)
          ->Arg(3072);
}

const int registered = (register_all(), 0);

}  // namespace
