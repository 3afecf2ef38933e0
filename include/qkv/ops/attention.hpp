#pragma once
// Scaled dot-product attention for one head of one sequence:
//   probs = softmax(q k^T * scale + mask),  out = probs v
// Masked scores become -inf; a query whose keys are all masked gets zero probabilities and a
// zero output (softmax's contract) instead of NaN.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "qkv/kernels/dispatch.hpp"
#include "qkv/ops/rows.hpp"

namespace qkv::ops {

// Which keys each query may see. All parts are optional and combine.
struct AttentionMask {
  // Query i sees key j only if j <= i + causal_offset. With a KV cache holding P earlier
  // positions, causal_offset = P (the queries are the last Lq of Lk positions).
  bool causal = false;
  std::int64_t causal_offset = 0;
  const std::uint8_t* key_padding = nullptr;  // [Lk], nonzero = padding: no query sees it
  TensorView<const std::uint8_t> blocked;     // [Lq, Lk], nonzero = not allowed (torch's bool attn_mask)
  TensorView<const float> additive;           // [Lq, Lk], added to the scaled scores (float masks, position biases)
};

namespace detail {

// A [Lq, Lk] mask as a pointer and row stride for the fused kernel. A view whose rows are not
// contiguous (broadcast, transposed) is first copied into `copy`.
template <class T>
void attention_mask_rows(TensorView<const T> m, Tensor<T>& copy, const T*& data, std::int64_t& ld) {
  if (m.empty()) return;
  if (m.dim(1) > 1 && m.stride(1) != 1) {
    copy = Tensor<T>::copy_of(m);
    m = copy.view();
  }
  data = m.data();
  ld = m.dim(0) > 1 ? m.stride(0) : m.dim(1);
}

}  // namespace detail

// q [Lq, d], k [Lk, d], v [Lk, dv] (rows contiguous, any row stride); out [Lq, dv] must not overlap
// q, k or v. out always comes from the fused kernel (kernels::KernelTable::attention: tiles with an
// online softmax, no [Lq, Lk] buffer), so its bits do not depend on whether probs are wanted.
// probs [Lq, Lk], when given (not empty), also receives the attention probabilities.
inline void attention(TensorView<const float> q, TensorView<const float> k, TensorView<const float> v, float scale,
                      const AttentionMask& mask, TensorView<float> out, TensorView<float> probs) {
  const auto rq = rows_of(q, "attention: q"), rk = rows_of(k, "attention: k"), rv = rows_of(v, "attention: v");
  const auto ro = rows_of(out, "attention: out");
  const std::int64_t lq = rq.rows, lk = rk.rows;
  if (q.rank() != 2 || k.rank() != 2 || v.rank() != 2) fail("attention: q, k, v must be matrices");
  if (rk.cols != rq.cols) fail("attention: q has head size ", rq.cols, ", k has ", rk.cols);
  if (rv.rows != lk) fail("attention: k has ", lk, " rows, v has ", rv.rows);
  if (ro.rows != lq || ro.cols != rv.cols) fail("attention: out ", out.shape(), " must be [", lq, ", ", rv.cols, "]");
  if (!probs.empty() && (probs.rank() != 2 || probs.dim(0) != lq || probs.dim(1) != lk))
    fail("attention: probs ", probs.shape(), " must be [", lq, ", ", lk, "]");
  if (!mask.blocked.empty() && (mask.blocked.dim(0) != lq || mask.blocked.dim(1) != lk))
    fail("attention: boolean mask ", mask.blocked.shape(), " must be [", lq, ", ", lk, "]");
  if (!mask.additive.empty() && (mask.additive.dim(0) != lq || mask.additive.dim(1) != lk))
    fail("attention: additive mask ", mask.additive.shape(), " must be [", lq, ", ", lk, "]");
  const auto& kt = kernels::active();

  kernels::AttentionKernelMask km;
  km.causal = mask.causal;
  km.causal_offset = mask.causal_offset;
  km.key_padding = mask.key_padding;
  Tensor<std::uint8_t> blocked_copy;
  Tensor<float> additive_copy;
  detail::attention_mask_rows(mask.blocked, blocked_copy, km.blocked, km.ld_blocked);
  detail::attention_mask_rows(mask.additive, additive_copy, km.additive, km.ld_additive);
  kt.attention(rq.data, rq.ld, rk.data, rk.ld, rv.data, rv.ld, ro.data, ro.ld, lq, lk, rq.cols, rv.cols, scale, km);
  if (probs.empty()) return;

  const auto rp = rows_of(probs, "attention: probs");
  // The keys the fused kernel skips (left padding) and each row's causal limit, from the same
  // helpers: the probabilities then describe exactly the keys the output was computed from.
  const std::int64_t first = kernels::attention_first_key(km, lk);
  kt.matmul_nt(rq.data, rq.ld, rk.row(first), rk.ld, rp.data + first, rp.ld, lq, lk - first, rq.cols, nullptr);
  constexpr float kMasked = -std::numeric_limits<float>::infinity();
  for (std::int64_t i = 0; i < lq; ++i) {
    float* row = rp.row(i);
    // Keys past the causal limit are masked wholesale; the loops below touch only the others.
    const std::int64_t visible = kernels::attention_key_end(km, i, first, lk);
    std::fill(row, row + first, kMasked);
    for (std::int64_t j = first; j < visible; ++j) row[j] *= scale;
    if (!mask.additive.empty())
      for (std::int64_t j = first; j < visible; ++j) row[j] += mask.additive(i, j);
    if (mask.key_padding)
      for (std::int64_t j = first; j < visible; ++j)
        if (mask.key_padding[j]) row[j] = kMasked;
    if (!mask.blocked.empty())
      for (std::int64_t j = first; j < visible; ++j)
        if (mask.blocked(i, j)) row[j] = kMasked;
    std::fill(row + visible, row + lk, kMasked);
  }
  kt.softmax_rows(rp.data, lq, lk, rp.ld);
}

}  // namespace qkv::ops
