// qkv::ThreadPool: every task exactly once, the static partition, exceptions, nesting, the
// default and per-thread pools, no lost wake-ups, and idle workers that sleep.
#include "qkv/core/thread_pool.hpp"

#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace qkv {
namespace {

TEST(ThreadPool, EveryTaskRunsExactlyOnce) {
  for (int threads = 1; threads <= 4; ++threads) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (std::int64_t tasks : {0, 1, 2, 3, 7, 1000}) {
      std::vector<std::atomic<int>> counts(static_cast<std::size_t>(tasks));
      for (auto& c : counts) c.store(0);
      pool.run(tasks, [&](std::int64_t task) {
        ASSERT_GE(task, 0);
        ASSERT_LT(task, tasks);
        counts[std::size_t(task)].fetch_add(1);
      });
      for (std::int64_t t = 0; t < tasks; ++t)
        EXPECT_EQ(counts[std::size_t(t)].load(), 1) << threads << " threads, " << tasks << " tasks, task " << t;
    }
  }
}

TEST(ThreadPool, NegativeTaskCountRunsNothing) {
  ThreadPool pool(2);
  int calls = 0;
  pool.run(-3, [&](std::int64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(ThreadPool, PartitionIsContiguousAndStatic) {
  // Thread t gets [t * tasks / T, (t + 1) * tasks / T): every thread sees contiguous ascending
  // tasks, and the same tasks land together on every run.
  ThreadPool pool(3);
  const std::int64_t tasks = 10;
  for (int repeat = 0; repeat < 20; ++repeat) {
    std::vector<std::thread::id> owner(tasks);
    pool.run(tasks, [&](std::int64_t task) { owner[std::size_t(task)] = std::this_thread::get_id(); });
    for (int t = 0; t < 3; ++t) {
      const std::int64_t begin = t * tasks / 3, end = (t + 1) * tasks / 3;
      for (std::int64_t i = begin; i < end; ++i) EXPECT_EQ(owner[std::size_t(i)], owner[std::size_t(begin)]);
    }
    std::set<std::thread::id> distinct(owner.begin(), owner.end());
    EXPECT_EQ(distinct.size(), 3u);
    EXPECT_EQ(owner[0], std::this_thread::get_id());  // the caller works on share 0
  }
}

TEST(ThreadPool, AcceptsAPlainFunction) {
  static std::atomic<int> total{0};
  struct Local {
    static void add(std::int64_t task) { total += int(task); }
  };
  total = 0;
  ThreadPool pool(2);
  pool.run(5, Local::add);
  EXPECT_EQ(total.load(), 0 + 1 + 2 + 3 + 4);
}

TEST(ThreadPool, ExceptionsPropagateAfterAllThreadsFinished) {
  for (int threads = 1; threads <= 4; ++threads) {
    ThreadPool pool(threads);
    std::atomic<int> running{0};
    try {
      pool.run(100, [&](std::int64_t task) {
        running.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        running.fetch_sub(1);
        if (task == 60) throw std::runtime_error("task 60 failed");
      });
      ADD_FAILURE() << "no exception with " << threads << " threads";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "task 60 failed");
      EXPECT_EQ(running.load(), 0) << "run() returned while tasks were still running";
    }
    // The pool still works afterwards.
    std::atomic<int> count{0};
    pool.run(50, [&](std::int64_t) { count.fetch_add(1); });
    EXPECT_EQ(count.load(), 50);
  }
}

TEST(ThreadPool, EveryThreadThrowingGivesOneOfTheirExceptions) {
  ThreadPool pool(4);
  EXPECT_THROW(pool.run(8, [](std::int64_t task) { throw std::out_of_range(std::to_string(task)); }), std::out_of_range);
  std::atomic<int> count{0};
  pool.run(8, [&](std::int64_t) { count.fetch_add(1); });
  EXPECT_EQ(count.load(), 8);
}

TEST(ThreadPool, NestedRunRunsInline) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> counts(6 * 5);
  for (auto& c : counts) c.store(0);
  pool.run(6, [&](std::int64_t outer) {
    const std::thread::id me = std::this_thread::get_id();
    pool.run(5, [&](std::int64_t inner) {
      EXPECT_EQ(std::this_thread::get_id(), me);
      counts[std::size_t(outer * 5 + inner)].fetch_add(1);
    });
  });
  for (auto& c : counts) EXPECT_EQ(c.load(), 1);
  // A task of one pool running another pool's job: also inline.
  ThreadPool other(2);
  std::atomic<int> total{0};
  pool.run(4, [&](std::int64_t) { other.run(10, [&](std::int64_t) { total.fetch_add(1); }); });
  EXPECT_EQ(total.load(), 40);
}

TEST(ThreadPool, RunFromManyThreadsAtOnce) {
  // A busy pool does a second caller's job on that caller's thread: never deadlocks, never loses tasks.
  ThreadPool pool(2);
  std::atomic<std::int64_t> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c)
    callers.emplace_back([&] {
      for (int r = 0; r < 300; ++r) pool.run(7, [&](std::int64_t task) { total.fetch_add(task + 1); });
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 3 * 300 * 28);
}

TEST(ThreadPool, ManySmallRunsLoseNoWakeups) {
  for (int threads : {2, 4}) {
    ThreadPool pool(threads);
    std::int64_t sum = 0;  // plain: each task writes its own slot, the caller reads after run()
    std::vector<std::int64_t> slots(3);
    for (int r = 0; r < 10000; ++r) {
      pool.run(3, [&](std::int64_t task) { slots[std::size_t(task)] = r + task; });
      sum += slots[0] + slots[1] + slots[2];
    }
    std::int64_t expected = 0;
    for (int r = 0; r < 10000; ++r) expected += 3 * r + 3;
    EXPECT_EQ(sum, expected) << threads << " threads";
  }
}

TEST(ThreadPool, RunsAfterWorkersFellAsleep) {
  ThreadPool pool(3);
  for (int r = 0; r < 5; ++r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past the spin: the workers block
    std::atomic<int> count{0};
    pool.run(9, [&](std::int64_t) { count.fetch_add(1); });
    EXPECT_EQ(count.load(), 9);
  }
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

TEST(ThreadPool, IdleWorkersSleep) {
  ThreadPool pool(4);
  std::atomic<int> count{0};
  pool.run(100, [&](std::int64_t) { count.fetch_add(1); });
  ASSERT_EQ(count.load(), 100);
  // Three spinning workers would burn about 3 x 200 ms of CPU in 200 ms of wall time; sleeping
  // ones burn (nearly) nothing. Allow a generous 20% of one core for the spin tails and noise.
  const auto wall_start = std::chrono::steady_clock::now();
  const double cpu_start = process_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const double cpu = process_cpu_seconds() - cpu_start;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  EXPECT_LT(cpu, 0.2 * wall) << "idle pool used " << cpu << " s of CPU in " << wall << " s";
}

TEST(ThreadPool, DestructorJoinsWhetherWorkersSpinOrSleep) {
  for (int i = 0; i < 20; ++i) {
    ThreadPool pool(3);
    if (i % 2) pool.run(6, [](std::int64_t) {});  // workers spinning at destruction
  }
  { ThreadPool never_used(4); }
}

TEST(ThreadPool, RejectsFewerThanOneThread) {
  EXPECT_THROW(ThreadPool(0), Error);
  EXPECT_THROW(ThreadPool(-2), Error);
}

TEST(ThreadPool, DefaultPoolAndSetNumThreads) {
  const int hardware = std::max(1, int(std::thread::hardware_concurrency()));
  EXPECT_EQ(num_threads(), hardware);
  EXPECT_EQ(default_thread_pool().size(), hardware);
  EXPECT_EQ(&default_thread_pool(), &default_thread_pool());
  EXPECT_EQ(&current_thread_pool(), &default_thread_pool());

  set_num_threads(3);
  EXPECT_EQ(num_threads(), 3);
  EXPECT_EQ(default_thread_pool().size(), 3);
  std::atomic<int> count{0};
  current_thread_pool().run(10, [&](std::int64_t) { count.fetch_add(1); });
  EXPECT_EQ(count.load(), 10);

  try {
    set_num_threads(0);
    ADD_FAILURE() << "set_num_threads(0) did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at least 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(set_num_threads(-1), Error);
  EXPECT_EQ(num_threads(), 3);  // unchanged by the failed calls
  set_num_threads(hardware);
  EXPECT_EQ(default_thread_pool().size(), hardware);
}

TEST(ThreadPool, UseThreadPoolSwitchesAndRestores) {
  ThreadPool a(2), b(3);
  ThreadPool& fallback = default_thread_pool();
  EXPECT_EQ(&current_thread_pool(), &fallback);
  {
    UseThreadPool use_a(a);
    EXPECT_EQ(&current_thread_pool(), &a);
    {
      UseThreadPool use_b(b);
      EXPECT_EQ(&current_thread_pool(), &b);
      // Per thread: another thread still sees the default.
      ThreadPool* seen = nullptr;
      std::thread([&] { seen = &current_thread_pool(); }).join();
      EXPECT_EQ(seen, &fallback);
    }
    EXPECT_EQ(&current_thread_pool(), &a);
  }
  EXPECT_EQ(&current_thread_pool(), &fallback);
}

}  // namespace
}  // namespace qkv
