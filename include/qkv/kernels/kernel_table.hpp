#pragma once
// The signatures of every hot loop. Each ISA fills one KernelTable; ops call through the active
// one, so adding an ISA never touches the layers above.
#include <cstdint>

namespace qkv {

enum class Activation { relu, gelu_erf, gelu_tanh, silu, tanh };  // tanh: BERT's pooler

namespace kernels {

// Which keys each query of one attention head may see (kernels cannot include ops, so this is the
// raw-pointer twin of ops::AttentionMask). All parts are optional and combine.
struct AttentionKernelMask {
  // Query i sees key j only if j <= i + causal_offset.
  bool causal = false;
  std::int64_t causal_offset = 0;
  const std::uint8_t* key_padding = nullptr;  // [lk], nonzero = padded: no query sees it
  const std::uint8_t* blocked = nullptr;      // [lq, lk] with row stride ld_blocked, nonzero = not allowed
  std::int64_t ld_blocked = 0;
  const float* additive = nullptr;  // [lq, lk] with row stride ld_additive, added to the scaled score
  std::int64_t ld_additive = 0;
};

// Keys before the first unpadded one are skipped outright by every attention kernel (left padding).
inline std::int64_t attention_first_key(const AttentionKernelMask& mask, std::int64_t lk) {
  std::int64_t first = 0;
  while (mask.key_padding && first < lk && mask.key_padding[first]) ++first;
  return first;
}

// One past the last key query i may see: lk, or its causal limit (never below `first`).
inline std::int64_t attention_key_end(const AttentionKernelMask& mask, std::int64_t i, std::int64_t first,
                                      std::int64_t lk) {
  if (!mask.causal) return lk;
  const std::int64_t end = i + mask.causal_offset + 1;
  return end < first ? first : end > lk ? lk : end;
}

struct KernelTable {
  // c[m, n] = sum_k a[m, k] * b[n, k] (+ bias[n] when bias != nullptr). Row strides lda/ldb/ldc.
  // b is in PyTorch's Linear layout [out, in].
  void (*matmul_nt)(const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c, std::int64_t ldc,
                    std::int64_t m, std::int64_t n, std::int64_t k, const float* bias);
  // c[m, j] = sum_k a[m, k] * B[k, j] (+ bias[j]) for the columns j of panels [panel_begin, panel_end),
  // B packed by pack_panels (kernels/packing.hpp) from a weight with n columns and k rows.
  void (*matmul_packed)(const float* a, std::int64_t lda, const float* packed, float* c, std::int64_t ldc, std::int64_t m,
                        std::int64_t n, std::int64_t k, std::int64_t panel_begin, std::int64_t panel_end,
                        const float* bias);
  // The same product in two steps, so that threads splitting the columns share one packed copy of
  // A instead of each packing all of it: pack_gemm_rows writes rows [row_begin, row_end) of a
  // [m, k] (row_begin a multiple of gemm_row_tile(m)) into their place in a layout of
  // packed_gemm_rows_size(m, k, gemm_row_tile(m)) floats that only matmul_prepacked reads. Every
  // element has the bits matmul_packed gives it.
  std::int64_t (*gemm_row_tile)(std::int64_t m);
  void (*pack_gemm_rows)(const float* a, std::int64_t lda, std::int64_t m, std::int64_t k, std::int64_t row_begin,
                         std::int64_t row_end, float* out);
  void (*matmul_prepacked)(const float* packed_rows, const float* packed, float* c, std::int64_t ldc, std::int64_t m,
                           std::int64_t n, std::int64_t k, std::int64_t panel_begin, std::int64_t panel_end,
                           const float* bias);
  // c[m, n] = sum_k a[m, k] * b[k, n]. Row strides lda/ldb/ldc.
  void (*matmul_nn)(const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c, std::int64_t ldc,
                    std::int64_t m, std::int64_t n, std::int64_t k);
  // In place over `rows` rows of n elements (row stride ld). A row that is all -inf becomes 0.
  void (*softmax_rows)(float* x, std::int64_t rows, std::int64_t n, std::int64_t ld);
  // y = (x - mean) / sqrt(var + eps) * weight + bias per row; bias may be null.
  void (*layer_norm_rows)(const float* x, std::int64_t ldx, float* y, std::int64_t ldy, std::int64_t rows,
                          std::int64_t n, const float* weight, const float* bias, float eps);
  // y = x / sqrt(mean(x^2) + eps) * weight per row.
  void (*rms_norm_rows)(const float* x, std::int64_t ldx, float* y, std::int64_t ldy, std::int64_t rows,
                        std::int64_t n, const float* weight, float eps);
  // x = act(x), elementwise in place.
  void (*activate)(Activation act, float* x, std::int64_t n);
  // out = act(gate) * up, elementwise (the gated feed-forward of LLaMA, T5 v1.1).
  void (*activate_gated)(Activation act, const float* gate, const float* up, float* out, std::int64_t n);
  // out = a + b, elementwise (out may alias a or b).
  void (*add)(const float* a, const float* b, float* out, std::int64_t n);
  // Fused attention of one head, never materialising the [lq, lk] scores:
  //   out = softmax(q k^T * scale + additive, masked -> -inf) v
  // q [lq, d], k [lk, d], v [lk, dv], out [lq, dv] with row strides ldq/ldk/ldv/ldo; out must not
  // overlap q, k or v. A query whose keys are all masked gets a zero row. Determinism contract:
  // keys before the first unpadded one are skipped and key tiles start there; a row's bits do not
  // depend on lq, on the other rows, or on masked keys (left/right padding leave them unchanged).
  void (*attention)(const float* q, std::int64_t ldq, const float* k, std::int64_t ldk, const float* v,
                    std::int64_t ldv, float* out, std::int64_t ldo, std::int64_t lq, std::int64_t lk, std::int64_t d,
                    std::int64_t dv, float scale, const AttentionKernelMask& mask);
  // Rotary embedding (rotate-half) of `rows` rows in place: for i < n, with a = x[i], b = x[i + n],
  // c = cos[i], s = sin[i]: x[i] = a * c + (-b) * s, x[i + n] = b * c + a * s, each as two
  // roundings-to-float products and one sum (no FMA), so every ISA gives the same bits.
  void (*rotary_rows)(float* x, std::int64_t ldx, const float* cos, std::int64_t ldc, const float* sin,
                      std::int64_t lds, std::int64_t rows, std::int64_t n);
};

}  // namespace kernels
}  // namespace qkv
