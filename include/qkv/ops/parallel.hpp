#pragma once
// How ops split their work over the current thread pool. Every split is over independent outputs
// (rows or columns), never over a sum, and each output is computed by the same code whatever the
// split: results do not depend on the thread count.
#include <algorithm>
#include <cstdint>

#include "qkv/core/thread_pool.hpp"

namespace qkv::ops::detail {

// Below this many multiply-adds a product runs on the calling thread: waking workers costs more.
inline constexpr std::int64_t kParallelWork = 1 << 16;

// Below this many elements a row-wise op (norms, activations, residual adds) runs on the calling
// thread. 128 x 768 (a BERT-base or GPT-2 layer's norm at 128 tokens) is above it.
inline constexpr std::int64_t kParallelElements = 1 << 15;

// How many tasks share `work` over `units` independent parts, given the work worth a task.
inline std::int64_t task_count(std::int64_t work, std::int64_t units, std::int64_t threshold = kParallelWork) {
  return work < threshold ? 1 : std::min<std::int64_t>(current_thread_pool().size(), units);
}

template <class Body>  // body(begin, end) over [0, count) in `align`-aligned chunks, one per task
void split_range(std::int64_t tasks, std::int64_t count, std::int64_t align, Body&& body) {
  const std::int64_t units = (count + align - 1) / align;
  if (tasks <= 1) return body(std::int64_t(0), count);
  current_thread_pool().run(tasks, [&](std::int64_t t) {
    const std::int64_t begin = units * t / tasks * align, end = std::min(count, units * (t + 1) / tasks * align);
    if (begin < end) body(begin, end);
  });
}

template <class Body>  // body(column_begin, column_end) over [0, columns) in `align`-aligned chunks
void split_columns(std::int64_t work, std::int64_t columns, std::int64_t align, Body&& body) {
  split_range(task_count(work, (columns + align - 1) / align), columns, align, body);
}

template <class Body>  // body(row_begin, row_end) over [0, rows) of a row-wise op on rows x cols elements
void split_rows(std::int64_t rows, std::int64_t cols, Body&& body) {
  split_range(task_count(rows * cols, rows, kParallelElements), rows, 1, body);
}

}  // namespace qkv::ops::detail
