#pragma once
// What the x86 kernels need from the compiler: <immintrin.h> and function-level target
// attributes. A consumer compiles with plain -O2 (no -march); only functions marked with these
// macros may contain AVX2 / AVX-512 instructions, and dispatch calls them only after CPUID and
// XGETBV said the CPU and OS support them. Elsewhere (other architectures or compilers) the
// x86 kernels are left out and only `generic` exists.
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define QKV_X86_KERNELS 1
// GCC 12 warns that the _mm512_undefined_ps() inside its own permute intrinsics is
// uninitialized (GCC bug 105593); the diagnostic follows the header's location, so silence it there.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#pragma GCC diagnostic pop
#define QKV_TARGET_AVX2 __attribute__((target("avx2,fma,bmi,bmi2,f16c")))
#define QKV_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi,bmi2,f16c")))
#else
#define QKV_X86_KERNELS 0
#endif
