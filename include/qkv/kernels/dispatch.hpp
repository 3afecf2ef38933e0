#pragma once
// Runtime dispatch: the best ISA that both the CPU/OS supports and qkv implements is chosen once,
// on first use. QKV_ISA=generic|avx2|avx512 (or qkv::set_isa) lowers the choice; asking for an ISA
// the CPU lacks or qkv does not implement is a qkv::Error, never an illegal instruction.
#include <atomic>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "qkv/core/error.hpp"
#include "qkv/kernels/avx2/table.hpp"
#include "qkv/kernels/avx512/table.hpp"
#include "qkv/kernels/cpu_features.hpp"
#include "qkv/kernels/generic.hpp"
#include "qkv/kernels/kernel_table.hpp"

namespace qkv {

enum class Isa { generic, avx2, avx512 };

inline std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::generic: return "generic";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

inline Isa parse_isa(std::string_view name) {
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512})
    if (name == isa_name(isa)) return isa;
  fail("unknown ISA '", name, "' (expected generic, avx2 or avx512)");
}

inline bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::generic: return true;
    case Isa::avx2: return cpu_features().avx2;
    case Isa::avx512: return cpu_features().avx512;
  }
  return false;
}

namespace kernels {

// The kernel table qkv has for an ISA, or nullptr when this version has none.
inline const KernelTable* table_for(Isa isa) {
  switch (isa) {
    case Isa::generic: return &generic::kTable;
#if QKV_X86_KERNELS
    case Isa::avx2: return &avx2::kTable;
    case Isa::avx512: return &avx512::kTable;
#else
    case Isa::avx2:
    case Isa::avx512: return nullptr;  // x86 kernels need GCC or Clang on x86
#endif
  }
  return nullptr;
}

// ISAs in priority order, best first.
inline constexpr Isa kIsaPriority[] = {Isa::avx512, Isa::avx2, Isa::generic};

inline bool usable(Isa isa) { return cpu_supports(isa) && table_for(isa) != nullptr; }

inline std::string usable_isa_names() {
  std::string list;
  for (Isa isa : kIsaPriority)
    if (usable(isa)) list += (list.empty() ? "" : ", ") + std::string(isa_name(isa));
  return list;
}

inline void require_usable(Isa isa, std::string_view source) {
  if (!cpu_supports(isa)) fail(source, ": ISA '", isa_name(isa), "' is not supported by this CPU/OS (usable: ", usable_isa_names(), ")");
  if (!table_for(isa)) fail(source, ": ISA '", isa_name(isa), "' has no kernels in this version of qkv (usable: ", usable_isa_names(), ")");
}

inline Isa initial_isa() {
  if (const char* env = std::getenv("QKV_ISA"); env && *env) {
    std::string_view name(env);
    Isa isa;
    try {
      isa = parse_isa(name);
    } catch (const Error&) {
      fail("QKV_ISA='", name, "' is not an ISA (expected generic, avx2 or avx512)");
    }
    require_usable(isa, "QKV_ISA");
    return isa;
  }
  for (Isa isa : kIsaPriority)
    if (usable(isa)) return isa;
  return Isa::generic;
}

struct ActiveIsa {
  std::atomic<Isa> isa;
  std::atomic<const KernelTable*> table;
};

inline ActiveIsa& active_state() {
  static ActiveIsa state = [] {
    const Isa isa = initial_isa();
    return ActiveIsa{isa, table_for(isa)};
  }();
  return state;
}

// The table every op calls through.
inline const KernelTable& active() { return *active_state().table.load(std::memory_order_relaxed); }

}  // namespace kernels

// Every ISA this CPU and this version of qkv can run, best first.
inline std::vector<Isa> usable_isas() {
  std::vector<Isa> list;
  for (Isa isa : kernels::kIsaPriority)
    if (kernels::usable(isa)) list.push_back(isa);
  return list;
}

// The ISA the kernels currently run on.
inline Isa active_isa() { return kernels::active_state().isa.load(); }

// Switches every later kernel call to `isa`; throws qkv::Error if it is not usable here.
inline void set_isa(Isa isa) {
  kernels::require_usable(isa, "set_isa");
  auto& state = kernels::active_state();
  state.table.store(kernels::table_for(isa));
  state.isa.store(isa);
}

inline void set_isa(std::string_view name) { set_isa(parse_isa(name)); }

}  // namespace qkv
