#pragma once
// The avx2 kernel table: what dispatch hands to the ops when this ISA is active.
#include "qkv/kernels/generic.hpp"
#include "qkv/kernels/avx2/matmul.hpp"

#if QKV_X86_KERNELS
namespace qkv::kernels::avx2 {

inline const KernelTable kTable = {matmul_nt,
                                   matmul_packed,
                                   matmul_nn,
                                   generic::softmax_rows,
                                   generic::layer_norm_rows,
                                   generic::rms_norm_rows,
                                   generic::activate,
                                   generic::activate_gated,
                                   generic::add};

}  // namespace qkv::kernels::avx2
#endif
