#pragma once
// The avx2 kernel table: what dispatch hands to the ops when this ISA is active.
#include "qkv/kernels/avx2/attention.hpp"
#include "qkv/kernels/avx2/elementwise.hpp"
#include "qkv/kernels/avx2/matmul.hpp"

#if QKV_X86_KERNELS
namespace qkv::kernels::avx2 {

inline const KernelTable kTable = {matmul_nt, matmul_packed, row_tile, pack_gemm_rows, matmul_prepacked, matmul_nn, softmax_rows, layer_norm_rows, rms_norm_rows, activate, activate_gated, add, attention, rotary_rows};

}  // namespace qkv::kernels::avx2
#endif
