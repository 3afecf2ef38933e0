#pragma once
// Multi-head attention, self or cross: project queries, keys and values, attend per head,
// concatenate the heads, project the result. Keys/values may have their own widths (torch's
// kdim/vdim) and fewer heads than the queries (grouped-query attention). Queries and keys may be
// rotated by a rotary position embedding after the projection (LLaMA).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "qkv/core/thread_pool.hpp"
#include "qkv/core/workspace.hpp"
#include "qkv/nn/linear.hpp"
#include "qkv/nn/rotary.hpp"
#include "qkv/ops/attention.hpp"

namespace qkv::nn {

// Masks for a batch: which keys each query of each sequence may see. All optional.
struct AttentionMasks {
  bool causal = false;
  std::int64_t causal_offset = 0;              // see ops::AttentionMask
  TensorView<const std::uint8_t> key_padding;  // [B, Lk], nonzero = padded key
  TensorView<const std::uint8_t> blocked;      // [Lq, Lk], nonzero = not allowed
  TensorView<const float> additive;            // [Lq, Lk], added to every head's scores
  TensorView<const float> head_bias;           // [H, Lq, Lk], added per head (T5's relative position bias)
  // Not a mask, but it travels with them through the blocks: the positions [B, L] of the tokens,
  // for a rotary embedding (self-attention: queries and keys are the same tokens). Empty = 0..L-1.
  // Explicit positions let a caller continue a sequence (after a KV cache of P tokens: P, P+1, ...).
  TensorView<const std::int64_t> positions;
};

// Rows `rows` of t's first dimension, in that order (repeats allowed): [rows.size(), ...]. Only the
// first `used` entries of each row's second dimension are copied (all when -1); the rest is zero.
// Beam search needs it to duplicate and re-pick batch rows (HF's index_select in _reorder_cache).
template <class T>
Tensor<T> gather_rows(const Tensor<T>& t, const std::vector<std::int64_t>& rows, std::int64_t used = -1) {
  if (t.rank() == 0) fail("gather_rows: the tensor has no rows");
  std::int64_t dims[kMaxRank];
  for (int i = 0; i < t.rank(); ++i) dims[i] = t.dim(i);
  dims[0] = std::int64_t(rows.size());
  Tensor<T> out(Shape::from_range(dims, dims + t.rank()));
  const std::int64_t row_size = t.dim(0) == 0 ? 0 : t.numel() / t.dim(0);
  const std::int64_t copied = used < 0 || t.rank() < 2 ? row_size : std::min(used, t.dim(1)) * (row_size / t.dim(1));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || rows[i] >= t.dim(0)) fail("gather_rows: row ", rows[i], " is outside [0, ", t.dim(0), ")");
    std::copy_n(t.data() + rows[i] * row_size, copied, out.data() + std::int64_t(i) * row_size);
  }
  return out;
}

// x [B, L, heads * head_dim] (heads side by side, as projections make them) seen as
// [B, heads, L, head_dim], without copying: the layout attend() reads keys and values in.
template <class T>
TensorView<T> split_heads(TensorView<T> x, std::int64_t heads) {
  if (x.rank() != 3 || heads <= 0 || x.dim(2) % heads != 0 || (x.dim(2) > 1 && x.stride(2) != 1))
    fail("split_heads: expected [B, L, ", heads, " * head_dim] with contiguous rows, got ", x.shape());
  const std::int64_t hd = x.dim(2) / heads;
  return TensorView<T>(x.data(), {x.dim(0), heads, x.dim(1), hd}, {x.stride(0), hd, x.stride(1), 1, 1, 1});
}

// Keys and values of the positions an attention layer has seen, for a batch of sequences:
// [B, H_kv, capacity, head_dim] each, so that every (sequence, head) is one contiguous
// [capacity, head_dim] block that decoding attention streams through. The first `length`
// positions are filled. Self-attention appends the new tokens' keys/values every step;
// cross-attention fills it once from the encoder output.
struct KvCache {
  Tensor<float> keys, values;
  std::int64_t length = 0;

  std::int64_t batch() const { return keys.rank() == 4 ? keys.dim(0) : 0; }
  std::int64_t heads() const { return keys.rank() == 4 ? keys.dim(1) : 0; }
  std::int64_t capacity() const { return keys.rank() == 4 ? keys.dim(2) : 0; }
  std::int64_t head_dim() const { return keys.rank() == 4 ? keys.dim(3) : 0; }

  // Makes room for `positions` in total, keeping what is stored (allocates only when growing or
  // when the batch or head layout changes, which needs an empty cache).
  void reserve(std::int64_t batch_size, std::int64_t positions, std::int64_t num_heads, std::int64_t dim) {
    const bool same_layout = batch() == batch_size && heads() == num_heads && head_dim() == dim;
    if (same_layout && capacity() >= positions) return;
    if (!same_layout && length > 0)
      fail("KvCache::reserve: the cache holds ", length, " positions of ", batch(), " sequences x ", heads(), " heads x ",
           head_dim(), ", asked for ", batch_size, " x ", num_heads, " x ", dim);
    // Positions past `length` are never read: no need to zero them.
    auto k = Tensor<float>::uninitialized({batch_size, num_heads, positions, dim});
    auto v = Tensor<float>::uninitialized({batch_size, num_heads, positions, dim});
    for (std::int64_t b = 0; b < batch_size && length > 0; ++b)
      for (std::int64_t h = 0; h < num_heads; ++h) {
        std::copy_n(&keys(b, h, 0, 0), length * dim, &k(b, h, 0, 0));
        std::copy_n(&values(b, h, 0, 0), length * dim, &v(b, h, 0, 0));
      }
    keys = std::move(k);
    values = std::move(v);
  }

  // Stores new keys/values k, v [B, L, H_kv * head_dim] (heads side by side, as projected) at
  // positions [at, at + L), which must be within the capacity.
  void store(TensorView<const float> k, TensorView<const float> v, std::int64_t at) {
    const std::int64_t fresh = k.dim(1), hd = head_dim();
    expect_shape(k, {batch(), fresh, heads() * hd}, "KvCache::store keys");
    expect_shape(v, {batch(), fresh, heads() * hd}, "KvCache::store values");
    if (at < 0 || at + fresh > capacity()) fail("KvCache::store: positions [", at, ", ", at + fresh, ") exceed the capacity ", capacity());
    for (std::int64_t b = 0; b < batch(); ++b)
      for (std::int64_t t = 0; t < fresh; ++t)
        for (std::int64_t h = 0; h < heads(); ++h) {
          std::copy_n(&k(b, t, h * hd), hd, &keys(b, h, at + t, 0));
          std::copy_n(&v(b, t, h * hd), hd, &values(b, h, at + t, 0));
        }
  }

  // Keeps batch rows `rows` (in that order, repeats allowed), with the same capacity. Only the
  // filled positions of each head are copied.
  void select_rows(const std::vector<std::int64_t>& rows) {
    if (keys.rank() != 4) fail("KvCache::select_rows: the cache is empty");
    const std::int64_t n = std::int64_t(rows.size()), block = length * head_dim();
    auto k = Tensor<float>::uninitialized({n, heads(), capacity(), head_dim()});
    auto v = Tensor<float>::uninitialized({n, heads(), capacity(), head_dim()});
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t row = rows[std::size_t(i)];
      if (row < 0 || row >= batch()) fail("KvCache::select_rows: row ", row, " is outside [0, ", batch(), ")");
      for (std::int64_t h = 0; h < heads(); ++h) {
        std::copy_n(&keys(row, h, 0, 0), block, &k(i, h, 0, 0));
        std::copy_n(&values(row, h, 0, 0), block, &v(i, h, 0, 0));
      }
    }
    keys = std::move(k);
    values = std::move(v);
  }

  // [B, H_kv, length, head_dim] views of the filled positions.
  TensorView<const float> filled_keys() const { return keys.view().narrow(2, 0, length); }
  TensorView<const float> filled_values() const { return values.view().narrow(2, 0, length); }
};

struct MultiHeadAttention {
  Linear q_proj;    // [H * head_dim, d_query]
  Linear k_proj;    // [H_kv * head_dim, d_key]
  Linear v_proj;    // [H_kv * head_dim, d_value]
  Linear out_proj;  // [d_out, H * head_dim]
  std::int64_t num_heads = 1;
  std::int64_t num_kv_heads = 1;  // == num_heads except for grouped-query attention
  float scale = 1.0f;             // 1/sqrt(head_dim) usually; 1 for T5
  RotaryEmbedding rotary;         // rotates q and k of every head at masks.positions (LLaMA); empty = none
  // Optional: q | k | v as one product, for self-attention (one input): one GEMM and one pass over
  // the input instead of three. Each part starts at a multiple of 16 output columns (its packed
  // panels; the gaps are zero). Models set it when they pack q, k and v side by side
  // (models/pack.hpp); q_proj, k_proj and v_proj stay valid views of its parts.
  Linear qkv_proj;

  std::int64_t head_dim() const { return q_proj.out_features() / num_heads; }

  struct Projections {
    TensorView<float> q, k, v;  // [B, L, width] each, possibly column slices of one buffer
  };

  // The queries, keys and values of x [B, L, d] (self-attention), in scratch.
  Projections project_self(TensorView<const float> x, Workspace::Scope& scratch) const {
    const std::int64_t batch = x.dim(0), length = x.dim(1);
    const std::int64_t qw = q_proj.out_features(), kw = k_proj.out_features(), vw = v_proj.out_features();
    if (!qkv_proj.empty()) {
      const std::int64_t k_at = ops::packed_width(qw), v_at = k_at + ops::packed_width(kw);
      const std::int64_t width = v_at + ops::packed_width(vw);
      if (qkv_proj.out_features() != width)
        fail("multi-head attention: fused q|k|v projection has ", qkv_proj.out_features(), " outputs, expected ", width);
      const auto all = scratch.take<float>({batch, length, width});
      qkv_proj.forward(x, all);
      return {all.narrow(2, 0, qw), all.narrow(2, k_at, kw), all.narrow(2, v_at, vw)};
    }
    Projections p{scratch.take<float>({batch, length, qw}), scratch.take<float>({batch, length, kw}),
                  scratch.take<float>({batch, length, vw})};
    q_proj.forward(x, p.q);
    k_proj.forward(x, p.k);
    v_proj.forward(x, p.v);
    return p;
  }

  // query [B, Lq, d_query], key [B, Lk, d_key], value [B, Lk, d_value] -> out [B, Lq, d_out].
  // probs, if given, receives the attention probabilities [B, H, Lq, Lk].
  void forward(TensorView<const float> query, TensorView<const float> key, TensorView<const float> value,
               const AttentionMasks& masks, TensorView<float> out, TensorView<float> probs = {}) const {
    const std::int64_t batch = query.dim(0), lq = query.dim(1), lk = key.dim(1);
    if (key.dim(0) != batch || value.dim(0) != batch || value.dim(1) != lk)
      fail("multi-head attention: query ", query.shape(), ", key ", key.shape(), " and value ", value.shape(),
           " disagree on batch or key length");
    Workspace::Scope scratch(current_workspace());
    const bool self = query.data() == key.data() && key.data() == value.data() && query.shape() == key.shape() &&
                      key.shape() == value.shape() && query.strides() == key.strides() && key.strides() == value.strides();
    Projections p;
    if (self) {
      p = project_self(query, scratch);
    } else {
      p = {scratch.take<float>({batch, lq, q_proj.out_features()}), scratch.take<float>({batch, lk, k_proj.out_features()}),
           scratch.take<float>({batch, lk, v_proj.out_features()})};
      q_proj.forward(query, p.q);
      k_proj.forward(key, p.k);
      v_proj.forward(value, p.v);
    }
    const auto q = p.q, k = p.k, v = p.v;
    if (!rotary.empty()) {
      if (lk != lq) fail("multi-head attention: a rotary embedding needs keys at the queries' positions, got ", lq,
                         " queries and ", lk, " keys");
      rotary.forward(q, k, head_dim(), masks.positions);  // HF: apply_rotary_pos_emb(q, k, cos, sin)
    }
    const auto context = scratch.take<float>({batch, lq, q_proj.out_features()});
    attend(q, split_heads<const float>(k, num_kv_heads), split_heads<const float>(v, num_kv_heads), masks, context, probs);
    out_proj.forward(context, out);
  }

  // Cross-attention's cache: the projected keys/values of memory [B, Ls, d] (done once per input).
  void fill_cache(TensorView<const float> memory, KvCache& cache) const {
    const std::int64_t batch = memory.dim(0), length = memory.dim(1);
    cache.length = 0;
    cache.reserve(batch, length, num_kv_heads, head_dim());
    project_into(memory, cache, 0);
    cache.length = length;
  }

  // Self-attention of new tokens x [B, Lnew, d] that continue the sequences in `cache`: their
  // keys/values are appended, then the queries attend over all cache.length + Lnew positions.
  // masks.key_padding covers all of them [B, length + Lnew]; masks.causal_offset should be the
  // previous length; masks.positions are the new tokens' positions [B, Lnew] (rotary).
  void forward_cached(TensorView<const float> x, KvCache& cache, const AttentionMasks& masks, TensorView<float> out,
                      TensorView<float> probs = {}) const {
    const std::int64_t batch = x.dim(0), fresh = x.dim(1), past = cache.length;
    if (past + fresh > cache.capacity() || cache.batch() != batch)  // grows geometrically: few reallocations
      cache.reserve(batch, std::max(past + fresh, 2 * cache.capacity()), num_kv_heads, head_dim());
    Workspace::Scope scratch(current_workspace());
    const Projections p = project_self(x, scratch);
    const auto q = p.q;
    if (!rotary.empty()) {
      TensorView<const std::int64_t> positions = masks.positions;
      if (positions.empty()) {  // default positions continue the cached sequence
        const auto continued = scratch.take<std::int64_t>({batch, fresh});
        for (std::int64_t b = 0; b < batch; ++b)
          for (std::int64_t t = 0; t < fresh; ++t) continued(b, t) = past + t;
        positions = continued;
      }
      rotary.forward(q, p.k, head_dim(), positions);  // the cache holds keys rotated at their own positions
    }
    cache.store(p.k, p.v, past);
    cache.length = past + fresh;
    const auto context = scratch.take<float>({batch, fresh, q_proj.out_features()});
    attend(q, cache.filled_keys(), cache.filled_values(), masks, context, probs);
    out_proj.forward(context, out);
  }

  // Keys/values of x [B, L, d] into cache positions [at, at + L): one product over all B * L rows
  // into scratch, then each head's slice into its block (cross-attention: no rotary embedding).
  void project_into(TensorView<const float> x, KvCache& cache, std::int64_t at) const {
    if (!rotary.empty()) fail("multi-head attention: a rotary embedding rotates queries and keys together");
    Workspace::Scope scratch(current_workspace());
    const auto k = scratch.take<float>({x.dim(0), x.dim(1), k_proj.out_features()});
    const auto v = scratch.take<float>({x.dim(0), x.dim(1), v_proj.out_features()});
    k_proj.forward(x, k);
    v_proj.forward(x, v);
    cache.store(k, v, at);
  }

  // Attention of queries x [B, Lq, d] over a filled cache (cross-attention while decoding).
  void forward_over(TensorView<const float> x, const KvCache& cache, const AttentionMasks& masks, TensorView<float> out,
                    TensorView<float> probs = {}) const {
    Workspace::Scope scratch(current_workspace());
    const auto q = scratch.take<float>({x.dim(0), x.dim(1), q_proj.out_features()});
    q_proj.forward(x, q);
    const auto context = scratch.take<float>({x.dim(0), x.dim(1), q_proj.out_features()});
    attend(q, cache.filled_keys(), cache.filled_values(), masks, context, probs);
    out_proj.forward(context, out);
  }

  // The per-head part on projected (and rotated) inputs: q [B, Lq, H*hd], k/v [B, H_kv, Lk, hd] (any
  // strides with contiguous rows: a cache's blocks, or projections through split_heads) -> context
  // [B, Lq, H*hd] (heads concatenated).
  void attend(TensorView<const float> q, TensorView<const float> k, TensorView<const float> v, const AttentionMasks& masks,
              TensorView<float> context, TensorView<float> probs = {}) const {
    const std::int64_t batch = q.dim(0), lq = q.dim(1), lk = k.dim(2), hd = head_dim();
    if (num_heads <= 0 || num_kv_heads <= 0 || num_heads % num_kv_heads != 0 || q.dim(2) != num_heads * hd)
      fail("multi-head attention: ", num_heads, " query heads and ", num_kv_heads, " key/value heads do not divide width ",
           q.dim(2));
    if (k.rank() != 4 || k.shape() != v.shape() || k.dim(0) != batch || k.dim(1) != num_kv_heads || k.dim(3) != hd)
      fail("multi-head attention: keys ", k.shape(), " / values ", v.shape(), " must be [", batch, ", ", num_kv_heads,
           ", Lk, ", hd, "]");
    if (!masks.key_padding.empty()) expect_shape(masks.key_padding, {batch, lk}, "attention key padding mask");
    if (!masks.head_bias.empty()) expect_shape(masks.head_bias, {num_heads, lq, lk}, "attention head bias");
    if (!probs.empty()) expect_shape(probs, {batch, num_heads, lq, lk}, "attention probabilities");

    // One task per (sequence, head), spread over the thread pool; each computes its own slice of
    // the context, so the result does not depend on the thread count.
    const std::int64_t group = num_heads / num_kv_heads;
    current_thread_pool().run(batch * num_heads, [&](std::int64_t task) {
      const std::int64_t b = task / num_heads, h = task % num_heads;
      ops::AttentionMask mask;
      mask.causal = masks.causal;
      mask.causal_offset = masks.causal_offset;
      mask.key_padding = masks.key_padding.empty() ? nullptr : masks.key_padding.select(b).data();
      mask.blocked = masks.blocked;
      mask.additive = masks.additive;
      // The executing thread's workspace: tasks running at once never share an arena.
      Workspace::Scope task_scratch(current_workspace());
      if (!masks.head_bias.empty()) {
        mask.additive = masks.head_bias.select(h);
        if (!masks.additive.empty()) {  // additive mask + this head's bias
          const auto bias_sum = task_scratch.take<float>({lq, lk});
          bias_sum.matrix() = masks.additive.matrix() + masks.head_bias.select(h).matrix();
          mask.additive = bias_sum;
        }
      }
      const std::int64_t kv = h / group;
      ops::attention(q.select(b).narrow(1, h * hd, hd), k.select(b).select(kv), v.select(b).select(kv), scale, mask,
                     context.select(b).narrow(1, h * hd, hd),
                     probs.empty() ? TensorView<float>() : probs.select(b).select(h));  // empty: the fused kernel
    });
  }
};

}  // namespace qkv::nn
