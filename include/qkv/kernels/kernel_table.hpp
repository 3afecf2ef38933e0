#pragma once
// The signatures of every hot loop. Each ISA fills one KernelTable; ops call through the active
// one, so adding an ISA never touches the layers above.
#include <cstdint>

namespace qkv {

enum class Activation { relu, gelu_erf, gelu_tanh, silu, tanh };  // tanh: BERT's pooler

namespace kernels {

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
};

}  // namespace kernels
}  // namespace qkv
