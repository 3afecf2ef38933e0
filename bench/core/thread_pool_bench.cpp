// The fixed cost of ThreadPool::run(): an empty job of 2 tasks on 2 threads (one task each), back
// to back, so the worker is caught by its spin; and the same after the worker fell asleep. A
// decode step makes ~50 run() calls, so this cost times 50 is the pool's share of a token.
#include <benchmark/benchmark.h>

#include <chrono>
#include <thread>

#include "qkv/core/thread_pool.hpp"

namespace {

void empty_run_back_to_back(benchmark::State& state) {
  qkv::ThreadPool pool(int(state.range(0)));
  for (auto _ : state) pool.run(pool.size(), [](std::int64_t task) { benchmark::DoNotOptimize(task); });
}
BENCHMARK(empty_run_back_to_back)->Arg(2)->Arg(4)->UseRealTime();

void empty_run_inline(benchmark::State& state) {  // the serial path, for comparison
  qkv::ThreadPool pool(1);
  for (auto _ : state) pool.run(2, [](std::int64_t task) { benchmark::DoNotOptimize(task); });
}
BENCHMARK(empty_run_inline)->UseRealTime();

// The worker has gone to sleep (past its spin) before every run(): the cost of a condition-variable wake-up.
void empty_run_after_sleep(benchmark::State& state) {
  qkv::ThreadPool pool(2);
  for (auto _ : state) {
    state.PauseTiming();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    state.ResumeTiming();
    pool.run(2, [](std::int64_t task) { benchmark::DoNotOptimize(task); });
  }
}
BENCHMARK(empty_run_after_sleep)->UseRealTime()->Iterations(500);

}  // namespace
