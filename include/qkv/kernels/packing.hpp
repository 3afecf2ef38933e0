#pragma once
// The layout GEMM reads weights in: B = W^T (W is nn.Linear's [n, k]) cut into panels of
// kPanelWidth columns. Panel p holds columns [16p, 16p + 16) as k rows of 16 floats, zero beyond
// n, so a micro-kernel streams one contiguous, 64-byte aligned block per panel and never needs a
// tail case. Packed once at load time; every ISA reads the same layout.
#include <cstdint>
#include <vector>

namespace qkv::kernels {

inline constexpr std::int64_t kPanelWidth = 16;

// The fast GEMMs sum k in blocks of this many terms: one FMA chain per block from zero, then the
// block's sum is added to the total. A single chain over k = 1000+ loses ~K * 2^-24 relative
// accuracy; blocks keep it to ~(kSumBlock + K / kSumBlock) * 2^-24. The blocks are fixed in k, so
// the order of every sum is the same for any M, tiling or thread count.
inline constexpr std::int64_t kSumBlock = 32;

inline std::int64_t panel_count(std::int64_t n) { return (n + kPanelWidth - 1) / kPanelWidth; }
inline std::int64_t packed_size(std::int64_t n, std::int64_t k) { return panel_count(n) * k * kPanelWidth; }

// w [n, k] (row stride ldw), or, with k_major, w [k, n] (HF's Conv1D layout), into `out`
// (packed_size(n, k) floats).
inline void pack_panels(const float* w, std::int64_t ldw, std::int64_t n, std::int64_t k, bool k_major, float* out) {
  for (std::int64_t p = 0; p < panel_count(n); ++p) {
    float* panel = out + p * k * kPanelWidth;
    for (std::int64_t kk = 0; kk < k; ++kk)
      for (std::int64_t c = 0; c < kPanelWidth; ++c) {
        const std::int64_t j = p * kPanelWidth + c;
        panel[kk * kPanelWidth + c] = j >= n ? 0.0f : k_major ? w[kk * ldw + j] : w[j * ldw + kk];
      }
  }
}

// m rows rounded up to whole tiles of `tile` rows.
inline std::int64_t whole_tiles(std::int64_t m, std::int64_t tile) { return (m + tile - 1) / tile * tile; }

// The rows of each block when m rows are cut into the fewest blocks of at most `limit` rows (a
// multiple of `tile`), all of whole tiles and about the same size: each block streams a thread's
// panels once, so M = 128 takes one pass, not one of 120 rows and another of 8.
inline std::int64_t equal_row_blocks(std::int64_t m, std::int64_t limit, std::int64_t tile) {
  const std::int64_t blocks = (m + limit - 1) / limit;
  return whole_tiles((m + blocks - 1) / blocks, tile);
}

// Floats in KernelTable::pack_gemm_rows' layout of m rows of k: rows rounded up to whole tiles.
inline std::int64_t packed_gemm_rows_size(std::int64_t m, std::int64_t k, std::int64_t row_tile) {
  return whole_tiles(m, row_tile) * k;
}

// c[m, columns of panels [panel_begin, panel_end)] for k = 0: an empty sum, so bias or zero.
inline void empty_product(float* c, std::int64_t ldc, std::int64_t m, std::int64_t n, std::int64_t panel_begin,
                          std::int64_t panel_end, const float* bias) {
  const std::int64_t end = n < panel_end * kPanelWidth ? n : panel_end * kPanelWidth;
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = panel_begin * kPanelWidth; j < end; ++j) c[i * ldc + j] = bias ? bias[j] : 0.0f;
}

// What a kernel keeps in a thread's scratch buffer (one buffer each).
enum class Scratch { packed_rows, transposed_keys };

// The calling thread's buffer for `use`, 64-byte aligned, grown once to the largest size it has
// needed: no allocation once a model has run at its largest shapes.
template <Scratch use>
inline float* thread_scratch(std::int64_t floats) {
  constexpr std::int64_t kAlign = 16;  // floats in 64 bytes
  thread_local std::vector<float> buffer;
  if (std::int64_t(buffer.size()) < floats + kAlign) buffer.resize(std::size_t(floats + kAlign));
  const auto address = reinterpret_cast<std::uintptr_t>(buffer.data());
  return buffer.data() + (kAlign - address / sizeof(float) % kAlign) % kAlign;
}

}  // namespace qkv::kernels
