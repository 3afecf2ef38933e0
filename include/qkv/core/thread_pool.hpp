#pragma once
// qkv::ThreadPool: the fork-join pool the library's ops split their work over.
//
//   pool.run(tasks, [&](std::int64_t task) { ... });   // fn(task) for every task in [0, tasks)
//
// A pool of T threads is the calling thread plus T - 1 workers. run() hands thread t the
// contiguous tasks [t * tasks / T, (t + 1) * tasks / T): the assignment is a pure function of
// (tasks, T), and since every task is computed by one thread from start to end, results never
// depend on the thread count as long as tasks do not share outputs.
//
// - No heap allocation per run(): fn is type-erased as a function pointer + void* context.
// - If fn throws, the remaining tasks of that thread are skipped (other threads stop at their next
//   task), and run() rethrows the first exception once every thread has finished.
// - run() from inside a task (of any pool) runs serially on the calling thread, as does run() with
//   tasks <= 1, on a one-thread pool, or while another thread is running a job on the same pool:
//   a pool runs one job at a time and never blocks a second caller.
// - Idle workers spin for a short while (about kSpinMicroseconds) after a job, so the next run()
//   of a decode step reaches them in well under a microsecond, then sleep on a condition variable.
//
// The default pool, default_thread_pool(), has std::thread::hardware_concurrency() threads unless
// set_num_threads(n) chose another count. current_thread_pool() is the pool the library's ops run
// on: the one a UseThreadPool guard installed on the calling thread, or else the default pool.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "qkv/core/error.hpp"

namespace qkv {

namespace detail {

// True while the calling thread executes tasks of some pool: a run() from there runs inline.
inline bool& inside_pool_task() {
  static thread_local bool inside = false;
  return inside;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}

// Spins until done() or until about `microseconds` passed; returns done()'s last answer. After the
// first 128 pauses (a few microseconds) it yields the core every 64 pauses, so that a thread the
// spinner waits for gets to run when they share a core (more threads than free cores): without
// it, an oversubscribed run() took ~20x longer.
template <class Done>
bool spin_until(Done&& done, std::int64_t microseconds) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + std::chrono::microseconds(microseconds);
  for (int round = 0;; ++round) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (Clock::now() >= deadline) return done();
    if (round >= 1) std::this_thread::yield();
  }
}

// Sets inside_pool_task() for a scope and restores it after.
class InsidePoolTask {
 public:
  InsidePoolTask() : saved_(inside_pool_task()) { inside_pool_task() = true; }
  ~InsidePoolTask() { inside_pool_task() = saved_; }
  InsidePoolTask(const InsidePoolTask&) = delete;
  InsidePoolTask& operator=(const InsidePoolTask&) = delete;

 private:
  bool saved_;
};

}  // namespace detail

class ThreadPool {
 public:
  // How long an idle thread spins for the next job (a worker) or for the job's end (the caller)
  // before it blocks.
  static constexpr std::int64_t kSpinMicroseconds = 100;

  explicit ThreadPool(int threads) {
    if (threads < 1) fail("ThreadPool: the thread count must be at least 1, got ", threads);
    size_ = threads;
    workers_.reserve(std::size_t(threads - 1));
    try {
      for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
    } catch (const std::system_error& e) {
      shut_down();
      fail("ThreadPool: could not start ", threads - 1, " worker threads: ", e.what());
    }
  }

  ~ThreadPool() { shut_down(); }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Threads that work on a run(): the workers plus the calling thread.
  int size() const { return size_; }

  // Calls fn(task) once for every task in [0, tasks) and returns when all have finished.
  template <class F>
  void run(std::int64_t tasks, F&& fn) {
    if constexpr (std::is_function_v<std::remove_reference_t<F>>) {  // a plain function: give it an object
      auto call = [&fn](std::int64_t task) { fn(task); };
      run_object(tasks, call);
    } else {
      run_object(tasks, fn);
    }
  }

 private:
  template <class Fn>
  void run_object(std::int64_t tasks, Fn& fn) {
    if (tasks <= 0) return;
    if (tasks == 1 || size_ == 1 || detail::inside_pool_task()) {
      for (std::int64_t task = 0; task < tasks; ++task) fn(task);
      return;
    }
    std::unique_lock<std::mutex> busy(run_mutex_, std::try_to_lock);
    if (!busy.owns_lock()) {  // another thread's job is running: do this one here
      detail::InsidePoolTask inside;
      for (std::int64_t task = 0; task < tasks; ++task) fn(task);
      return;
    }
    const Invoke invoke = [](void* context, std::int64_t begin, std::int64_t end, const std::atomic<bool>& failed) {
      Fn& f = *static_cast<Fn*>(context);
      for (std::int64_t task = begin; task < end && !failed.load(std::memory_order_relaxed); ++task) f(task);
    };
    dispatch(tasks, invoke, const_cast<void*>(static_cast<const void*>(std::addressof(fn))));
  }

  using Invoke = void (*)(void* context, std::int64_t begin, std::int64_t end, const std::atomic<bool>& failed);

  // Runs the job on every thread; the caller holds run_mutex_.
  void dispatch(std::int64_t tasks, Invoke invoke, void* context) {
    // The job's description is plain data, published to the workers by the release of epoch_
    // and not touched again until every worker has reported back through pending_.
    tasks_ = tasks;
    invoke_ = invoke;
    context_ = context;
    error_ = nullptr;
    failed_.store(false, std::memory_order_relaxed);
    pending_.store(size_ - 1, std::memory_order_relaxed);
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    // Dekker with wait_for_job: the workers raise sleepers_ before their last look at epoch_.
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard<std::mutex> lock(mutex_); }  // a sleeper is now waiting, not between check and wait
      wake_.notify_all();
    }

    execute(0);

    const auto all_done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
    if (!detail::spin_until(all_done, kSpinMicroseconds)) {
      std::unique_lock<std::mutex> lock(mutex_);
      caller_waiting_.store(true, std::memory_order_seq_cst);
      while (pending_.load(std::memory_order_seq_cst) != 0) done_.wait(lock);
      caller_waiting_.store(false, std::memory_order_relaxed);
    }
    // Every worker's decrement of pending_ released its writes (its tasks' results, error_).
    if (error_) {
      std::exception_ptr error = std::move(error_);
      error_ = nullptr;
      std::rethrow_exception(error);
    }
  }

  // Thread t's share of the current job.
  void execute(int t) {
    const std::int64_t begin = t * tasks_ / size_, end = (t + 1) * tasks_ / size_;
    if (begin >= end) return;
    detail::InsidePoolTask inside;
    try {
      invoke_(context_, begin, end, failed_);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }

  // Returns the epoch of the next job (or of the shutdown) after `seen`.
  std::uint64_t wait_for_job(std::uint64_t seen) {
    std::uint64_t epoch = seen;
    const auto posted = [&] { return (epoch = epoch_.load(std::memory_order_acquire)) != seen; };
    if (detail::spin_until(posted, kSpinMicroseconds)) return epoch;
    std::unique_lock<std::mutex> lock(mutex_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    while ((epoch = epoch_.load(std::memory_order_seq_cst)) == seen) wake_.wait(lock);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return epoch;
  }

  void worker_loop(int t) {
    std::uint64_t seen = 0;  // the epoch at construction: a job posted before this thread got here still counts
    for (;;) {
      seen = wait_for_job(seen);
      if (stopping_.load(std::memory_order_acquire)) return;
      execute(t);
      // Dekker with dispatch's wait: it raises caller_waiting_ before its last look at pending_.
      if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1 && caller_waiting_.load(std::memory_order_seq_cst)) {
        { std::lock_guard<std::mutex> lock(mutex_); }
        done_.notify_one();
      }
    }
  }

  void shut_down() {
    stopping_.store(true, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      epoch_.fetch_add(1, std::memory_order_seq_cst);
    }
    wake_.notify_all();
    for (auto& worker : workers_)
      if (worker.joinable()) worker.join();
    workers_.clear();
  }

  int size_ = 1;
  std::vector<std::thread> workers_;

  std::mutex run_mutex_;  // held by the thread whose job is running
  std::exception_ptr error_;  // the job's first exception, written under error_mutex_
  std::mutex error_mutex_;
  std::mutex mutex_;  // for the condition variables
  std::condition_variable wake_, done_;

  // Written by the caller once per job, read by every worker: one cache line.
  alignas(64) std::atomic<std::uint64_t> epoch_{0};  // bumped to post a job (or the shutdown)
  std::int64_t tasks_ = 0;                           // the current job (see dispatch)
  Invoke invoke_ = nullptr;
  void* context_ = nullptr;
  std::atomic<bool> failed_{false};  // a task threw: skip the rest
  std::atomic<bool> stopping_{false};

  // Written by the workers once per job, read by the caller: another line (alignof 64 pads the end).
  alignas(64) std::atomic<int> pending_{0};  // workers still on the current job
  std::atomic<bool> caller_waiting_{false};
  std::atomic<int> sleepers_{0};  // workers blocked (or about to block) on wake_
};

namespace detail {

struct DefaultPool {
  std::mutex mutex;
  std::unique_ptr<ThreadPool> pool;
  int requested = 0;  // set_num_threads' count; 0 = the hardware's
};

inline DefaultPool& default_pool_state() {
  static DefaultPool state;
  return state;
}

inline int hardware_threads() { return std::max(1, int(std::thread::hardware_concurrency())); }

inline ThreadPool*& installed_thread_pool() {
  static thread_local ThreadPool* pool = nullptr;
  return pool;
}

}  // namespace detail

// The threads the default pool has (or will have once it is first used).
inline int num_threads() {
  detail::DefaultPool& state = detail::default_pool_state();
  std::lock_guard<std::mutex> lock(state.mutex);
  return state.requested > 0 ? state.requested : detail::hardware_threads();
}

// Resizes the default pool to n threads (rebuilding it when its size changes). Call it while no
// thread is running work on the default pool: a reference to the old pool does not survive.
inline void set_num_threads(int n) {
  if (n < 1) fail("set_num_threads: the thread count must be at least 1, got ", n);
  detail::DefaultPool& state = detail::default_pool_state();
  std::lock_guard<std::mutex> lock(state.mutex);
  state.requested = n;
  if (state.pool && state.pool->size() != n) state.pool.reset();  // built again on next use
}

// The process-wide pool: hardware_concurrency() threads unless set_num_threads said otherwise.
// Built at first use.
inline ThreadPool& default_thread_pool() {
  detail::DefaultPool& state = detail::default_pool_state();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (!state.pool) state.pool = std::make_unique<ThreadPool>(state.requested > 0 ? state.requested : detail::hardware_threads());
  return *state.pool;
}

// The pool the library's ops use on this thread: the innermost UseThreadPool's, or the default.
inline ThreadPool& current_thread_pool() {
  ThreadPool* installed = detail::installed_thread_pool();
  return installed ? *installed : default_thread_pool();
}

// Makes `pool` the calling thread's current_thread_pool() for the guard's lifetime (guards nest).
//   qkv::ThreadPool pool(4);
//   qkv::UseThreadPool use(pool);   // this request's forward passes run on `pool`
class UseThreadPool {
 public:
  explicit UseThreadPool(ThreadPool& pool) : saved_(detail::installed_thread_pool()) {
    detail::installed_thread_pool() = &pool;
  }
  ~UseThreadPool() { detail::installed_thread_pool() = saved_; }
  UseThreadPool(const UseThreadPool&) = delete;
  UseThreadPool& operator=(const UseThreadPool&) = delete;

 private:
  ThreadPool* saved_;
};

}  // namespace qkv
