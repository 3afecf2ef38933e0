// y = x W^T (+ bias), W in nn.Linear layout [N, K], at GPT-2-small / BERT-base shapes:
// M = 1, 8, 32, 128, 512 rows and (K x N) = 768x768 (attention projections), 768x3072 (MLP up),
// 3072x768 (MLP down), 768x50257 (GPT-2's LM head). Rows, all timed in wall-clock time:
//
//   fma_peak/<isa>/t1                     this core's FP32 FMA peak: 12 independent FMA chains on
//                                         zmm (avx512) or ymm (avx2) registers, rated on CPU time
//                                         (the other rows on wall time, hence their "/real_time");
//                                         "% of peak" of a T-thread row is its GFLOP/s over T x this
//   qkv/<isa>/t<T>/M:/K:/N:               ops::linear with weights packed once (pack_weight)
//   qkv_unpacked/<isa>/t<T>/M:1/K:/N:     ops::linear on the plain [N, K] weight (dot-product
//                                         kernel), M = 1 only: what the LM head uses
//   onednn/t<T>/M:/K:/N:                  oneDNN's matmul primitive with bias, weights reordered
//                                         once into the layout it asks for (format "any"); built
//                                         with QKV_BENCH_HAVE_DNNL
//   openblas/t<T>/M:/K:/N:                cblas_sgemm(NoTrans, Trans), no bias (beta = 0); built
//                                         with QKV_BENCH_HAVE_OPENBLAS
//   eigen/t1/M:/K:/N:                     Eigen's GEMM with this program's flags (-O2, no -march:
//                                         SSE2 only), single-threaded; N = 50257 skipped (slow)
//
// The generic ISA (~2 GFLOP/s) runs only for M <= 8 without the LM head, plus M:128/K:768/N:768.
//
// Threads: qkv runs under a qkv::ThreadPool of T threads (UseThreadPool). oneDNN here is Debian's
// libdnnl, built with the OpenMP CPU runtime (DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP): it uses
// omp_get_max_threads() threads, so each onednn row calls omp_set_num_threads(T) before creating
// its primitive. OpenBLAS gets openblas_set_num_threads(T). OpenBLAS's and OpenMP's idle threads
// spin for a while after a call; the peer rows sleep 100 ms after timing so that spinning does not
// eat the next row's cores.
//
// Counters: GFLOP/s (2 M K N per iteration) on every row; GB/s (the K N 4 bytes of weights read
// per iteration) on M = 1 rows. M = 1 measures DRAM bandwidth only when the weights exceed the
// 32 MB L3: 768x50257 (154 MB) does; 768x768 (2.4 MB) and 768x3072 / 3072x768 (9.4 MB) fit, so
// their M = 1 rows, repeated back to back on one weight, read from cache.
//
// bench/run_gemm_table.py runs this program and prints the qkv / oneDNN table.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "qkv/core/thread_pool.hpp"
#include "qkv/kernels/x86.hpp"
#include "qkv/ops/linear.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define QKV_BENCH_X86 1
#endif

#ifdef QKV_BENCH_HAVE_DNNL
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#endif

#ifdef QKV_BENCH_HAVE_OPENBLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int num_threads);
#endif

namespace {

using Index = std::int64_t;

constexpr Index kMaxM = 512;
const std::vector<Index> kRows = {1, 8, 32, 128, 512};
const std::vector<std::pair<Index, Index>> kShapes = {{768, 768}, {768, 3072}, {3072, 768}, {768, 50257}};
const std::vector<int> kThreads = {1, 2};

void fill(float* data, Index count, std::uint64_t seed) {  // uniform in [-1, 1): fast for 38 M weights
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (Index i = 0; i < count; ++i) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    data[i] = float(std::int64_t(s >> 40) - (std::int64_t(1) << 23)) * (1.0f / float(1 << 23));
  }
}

// The operands of the current (K, N), shared by every row of that shape (rows are registered
// shape by shape): x holds kMaxM rows, a row with M rows uses the first M.
struct Operands {
  Index k = 0, n = 0;
  qkv::Tensor<float> x, w, bias, packed;

  static Operands& get(Index k, Index n) {
    static Operands o;
    if (o.k != k || o.n != n) {
      o = Operands();
      o.k = k, o.n = n;
      o.x = qkv::Tensor<float>({kMaxM, k});
      o.w = qkv::Tensor<float>({n, k});
      o.bias = qkv::Tensor<float>({n});
      fill(o.x.data(), o.x.numel(), 1);
      fill(o.w.data(), o.w.numel(), 2);
      fill(o.bias.data(), o.bias.numel(), 3);
    }
    return o;
  }
  const qkv::Tensor<float>& packed_weight() {
    if (packed.data() == nullptr) packed = qkv::ops::pack_weight(w);
    return packed;
  }
  qkv::TensorView<const float> rows(Index m) const { return qkv::TensorView<const float>(x.data(), {m, k}); }
};

void set_counters(benchmark::State& state, Index m, Index k, Index n) {
  using benchmark::Counter;
  state.counters["GFLOP/s"] = Counter(2.0 * double(m) * double(k) * double(n), Counter::kIsIterationInvariantRate);
  if (m == 1) state.counters["GB/s"] = Counter(4.0 * double(k) * double(n), Counter::kIsIterationInvariantRate);
}

std::string shape_name(Index m, Index k, Index n) {
  return "/M:" + std::to_string(m) + "/K:" + std::to_string(k) + "/N:" + std::to_string(n);
}

// --- This core's FMA peak ------------------------------------------------------------------------

#ifdef QKV_BENCH_X86
#define QKV_BENCH_FMA12(fma)                                                                                    \
  a0 = fma(a0, mul, add), a1 = fma(a1, mul, add), a2 = fma(a2, mul, add), a3 = fma(a3, mul, add);             \
  a4 = fma(a4, mul, add), a5 = fma(a5, mul, add), a6 = fma(a6, mul, add), a7 = fma(a7, mul, add);             \
  a8 = fma(a8, mul, add), a9 = fma(a9, mul, add), a10 = fma(a10, mul, add), a11 = fma(a11, mul, add)

// 12 independent chains: enough to cover 4-cycle latency on 2 FMA pipes with room to spare.
QKV_TARGET_AVX2 float fma_chains_avx2(Index iterations) {
  const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-6f);
  __m256 a0 = _mm256_set1_ps(0.f), a1 = _mm256_set1_ps(.1f), a2 = _mm256_set1_ps(.2f), a3 = _mm256_set1_ps(.3f);
  __m256 a4 = _mm256_set1_ps(.4f), a5 = _mm256_set1_ps(.5f), a6 = _mm256_set1_ps(.6f), a7 = _mm256_set1_ps(.7f);
  __m256 a8 = _mm256_set1_ps(.8f), a9 = _mm256_set1_ps(.9f), a10 = _mm256_set1_ps(1.f), a11 = _mm256_set1_ps(1.1f);
  for (Index i = 0; i < iterations; ++i) {
    QKV_BENCH_FMA12(_mm256_fmadd_ps);
  }
  const __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                   _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)),
                                                 _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11))));
  return _mm256_cvtss_f32(sum);
}

QKV_TARGET_AVX512 float fma_chains_avx512(Index iterations) {
  const __m512 mul = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-6f);
  __m512 a0 = _mm512_set1_ps(0.f), a1 = _mm512_set1_ps(.1f), a2 = _mm512_set1_ps(.2f), a3 = _mm512_set1_ps(.3f);
  __m512 a4 = _mm512_set1_ps(.4f), a5 = _mm512_set1_ps(.5f), a6 = _mm512_set1_ps(.6f), a7 = _mm512_set1_ps(.7f);
  __m512 a8 = _mm512_set1_ps(.8f), a9 = _mm512_set1_ps(.9f), a10 = _mm512_set1_ps(1.f), a11 = _mm512_set1_ps(1.1f);
  for (Index i = 0; i < iterations; ++i) {
    QKV_BENCH_FMA12(_mm512_fmadd_ps);
  }
  const __m512 sum = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                                   _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)),
                                                 _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11))));
  return _mm512_reduce_add_ps(sum);
}
#undef QKV_BENCH_FMA12

void fma_peak(benchmark::State& state, qkv::Isa isa) {
  constexpr Index kIterations = 1 << 20;
  const int lanes = isa == qkv::Isa::avx512 ? 16 : 8;
  for (auto _ : state) {
    Index iterations = kIterations;
    benchmark::DoNotOptimize(iterations);  // opaque, so the loop cannot be computed once and hoisted
    benchmark::DoNotOptimize(isa == qkv::Isa::avx512 ? fma_chains_avx512(iterations) : fma_chains_avx2(iterations));
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * 12 * lanes * double(kIterations), benchmark::Counter::kIsIterationInvariantRate);
}
#endif

// A few of y's elements against a double-precision dot product: the peer got the layouts right.
void check_result(benchmark::State& state, const Operands& o, const qkv::Tensor<float>& y, Index m,
                                   bool with_bias) {
  const Index k = o.k, n = o.n;
  for (Index i : {Index(0), m - 1})
    for (Index j : {Index(0), Index(1), n / 2, n - 1}) {
      double sum = with_bias ? double(o.bias.data()[j]) : 0.0;
      for (Index p = 0; p < k; ++p) sum += double(o.x.data()[i * k + p]) * double(o.w.data()[j * k + p]);
      if (std::abs(double(y.data()[i * n + j]) - sum) > 1e-3 * (1.0 + std::abs(sum)))
        return state.SkipWithError(("wrong result at y[" + std::to_string(i) + ", " + std::to_string(j) + "]").c_str());
    }
}

// --- qkv -----------------------------------------------------------------------------------------

void qkv_linear(benchmark::State& state, qkv::Isa isa, int threads, bool packed, Index m, Index k, Index n) {
  qkv::set_isa(isa);
  Operands& o = Operands::get(k, n);
  qkv::Tensor<float> y({m, n});
  const auto x = o.rows(m);
  qkv::ThreadPool pool(threads);
  qkv::UseThreadPool use(pool);
  if (packed) {
    const qkv::ops::PackedWeights w = qkv::ops::packed_view(o.packed_weight(), n);
    for (auto _ : state) {
      qkv::ops::linear(x, w, o.bias, y);
      benchmark::DoNotOptimize(y.data());
      benchmark::ClobberMemory();
    }
  } else {
    for (auto _ : state) {
      qkv::ops::linear(x, o.w, o.bias, y);
      benchmark::DoNotOptimize(y.data());
      benchmark::ClobberMemory();
    }
  }
  set_counters(state, m, k, n);
  check_result(state, o, y, m, true);
}

// --- Eigen ---------------------------------------------------------------------------------------

void eigen_linear(benchmark::State& state, Index m, Index k, Index n) {
  Operands& o = Operands::get(k, n);
  qkv::Tensor<float> y({m, n});
  const auto x = o.rows(m);
  for (auto _ : state) {
    y.view().matrix().noalias() = x.matrix() * o.w.view().matrix().transpose();
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, m, k, n);
}

[[maybe_unused]] void let_peer_threads_sleep() { std::this_thread::sleep_for(std::chrono::milliseconds(100)); }

// --- oneDNN --------------------------------------------------------------------------------------

#ifdef QKV_BENCH_HAVE_DNNL
void onednn_linear(benchmark::State& state, int threads, Index m, Index k, Index n) {
  using dnnl::memory;
  using tag = memory::format_tag;
  Operands& o = Operands::get(k, n);
  qkv::Tensor<float> y({m, n});
  omp_set_num_threads(threads);  // oneDNN's OpenMP runtime: read when the primitive is created and run

  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const memory::desc src_md({m, k}, memory::data_type::f32, tag::ab);
  const memory::desc weights_any({k, n}, memory::data_type::f32, tag::any);
  const memory::desc weights_plain({k, n}, memory::data_type::f32, tag::ba);  // [N, K] row-major is K x N "ba"
  const memory::desc bias_md({1, n}, memory::data_type::f32, tag::ab);
  const memory::desc dst_md({m, n}, memory::data_type::f32, tag::ab);
#if DNNL_VERSION_MAJOR >= 3
  const dnnl::matmul::primitive_desc pd(engine, src_md, weights_any, bias_md, dst_md);
#else
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, weights_any, bias_md, dst_md), engine);
#endif
  const dnnl::matmul matmul(pd);

  memory src(src_md, engine, o.x.data());
  memory bias(bias_md, engine, o.bias.data());
  memory dst(dst_md, engine, y.data());
  memory plain(weights_plain, engine, o.w.data());
  memory weights = plain;
  if (pd.weights_desc() != weights_plain) {  // pack once, outside the timing, as qkv does
    weights = memory(pd.weights_desc(), engine);
    dnnl::reorder(plain, weights).execute(stream, plain, weights);
    stream.wait();
  }
  const std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}};
  for (auto _ : state) {
    matmul.execute(stream, args);
    stream.wait();
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, m, k, n);
  state.SetLabel(pd.impl_info_str());
  check_result(state, o, y, m, true);
  let_peer_threads_sleep();
}
#endif

// --- OpenBLAS ------------------------------------------------------------------------------------

#ifdef QKV_BENCH_HAVE_OPENBLAS
void openblas_linear(benchmark::State& state, int threads, Index m, Index k, Index n) {
  Operands& o = Operands::get(k, n);
  qkv::Tensor<float> y({m, n});
  openblas_set_num_threads(threads);
  const auto mi = int(m), ki = int(k), ni = int(n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, mi, ni, ki, 1.0f, o.x.data(), ki, o.w.data(), ki, 0.0f,
                y.data(), ni);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, m, k, n);
  check_result(state, o, y, m, false);
  let_peer_threads_sleep();
}
#endif

// --- Registration --------------------------------------------------------------------------------

template <class... Args>
void add(const std::string& name, Args&&... args) {
  benchmark::RegisterBenchmark(name.c_str(), std::forward<Args>(args)...)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

bool generic_runs(Index m, Index k, Index n) { return (m <= 8 && n != 50257) || (m == 128 && k == 768 && n == 768); }

const int registered = [] {
  const std::vector<qkv::Isa> isas = qkv::usable_isas();
#ifdef QKV_BENCH_X86
  for (qkv::Isa isa : isas)
    if (isa != qkv::Isa::generic)
      // CPU time, not wall time: the core's capability, even when a shared machine time-slices us.
      benchmark::RegisterBenchmark(("fma_peak/" + std::string(qkv::isa_name(isa)) + "/t1").c_str(), fma_peak, isa)
          ->Unit(benchmark::kMillisecond);
#endif
  // Shape by shape, peers next to qkv: rows compared with each other run close in time.
  for (const auto& [k, n] : kShapes) {
    for (Index m : kRows) {
      const std::string shape = shape_name(m, k, n);
      for (qkv::Isa isa : isas) {
        if (isa == qkv::Isa::generic && !generic_runs(m, k, n)) continue;
        const std::string isa_name(qkv::isa_name(isa));
        for (int t : kThreads) {
          const std::string tt = "/t" + std::to_string(t);
          add("qkv/" + isa_name + tt + shape, qkv_linear, isa, t, true, m, k, n);
          if (m == 1) add("qkv_unpacked/" + isa_name + tt + shape, qkv_linear, isa, t, false, m, k, n);
        }
      }
      for ([[maybe_unused]] int t : kThreads) {
#ifdef QKV_BENCH_HAVE_DNNL
        add("onednn/t" + std::to_string(t) + shape, onednn_linear, t, m, k, n);
#endif
#ifdef QKV_BENCH_HAVE_OPENBLAS
        add("openblas/t" + std::to_string(t) + shape, openblas_linear, t, m, k, n);
#endif
      }
      if (n != 50257) add("eigen/t1" + shape, eigen_linear, m, k, n);
    }
  }
  return 0;
}();

}  // namespace
