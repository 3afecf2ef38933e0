// The AVX2 and AVX-512 elementwise kernels against kernels::generic on the same inputs: odd sizes,
// unaligned rows, row strides > n, extreme values, -inf masking, aliasing. The gaps between rows
// hold a sentinel that must survive (tails never write outside [0, n)).
#include "qkv/kernels/avx2/elementwise.hpp"
#include "qkv/kernels/avx512/elementwise.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "qkv/kernels/dispatch.hpp"
#include "qkv/kernels/generic.hpp"

#if QKV_X86_KERNELS
namespace qkv::kernels {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kSentinel = 12345.0f;
constexpr double kTol = 1e-5;
const std::int64_t kSizes[] = {1, 3, 7, 16, 17, 33, 100, 1000};

struct Kernels {
  const char* name;
  decltype(&generic::softmax_rows) softmax_rows;
  decltype(&generic::layer_norm_rows) layer_norm_rows;
  decltype(&generic::rms_norm_rows) rms_norm_rows;
  decltype(&generic::activate) activate;
  decltype(&generic::activate_gated) activate_gated;
  decltype(&generic::add) add;
};

std::vector<Kernels> isas() {
  std::vector<Kernels> list;
  if (cpu_supports(Isa::avx2))
    list.push_back({"avx2", avx2::softmax_rows, avx2::layer_norm_rows, avx2::rms_norm_rows, avx2::activate,
                    avx2::activate_gated, avx2::add});
  if (cpu_supports(Isa::avx512))
    list.push_back({"avx512", avx512::softmax_rows, avx512::layer_norm_rows, avx512::rms_norm_rows, avx512::activate,
                    avx512::activate_gated, avx512::add});
  return list;
}

// Rows of n floats with stride ld, starting at offset 1 of the allocation (unaligned); the
// allocation ends exactly at the last row's end so AddressSanitizer sees any overrun.
struct Rows {
  std::int64_t rows, n, ld;
  std::vector<float> buf;
  Rows(std::int64_t rows_, std::int64_t n_, std::int64_t ld_)
      : rows(rows_), n(n_), ld(ld_), buf(std::size_t(1 + (rows_ - 1) * ld_ + n_), kSentinel) {}
  float* row(std::int64_t r) { return buf.data() + 1 + r * ld; }
  float* data() { return row(0); }
};

// Worst |got - ref| / (1 + |ref|) over everything compared with one (kernel, ISA).
struct Worst {
  std::string what;
  double ratio = 0.0;
  ~Worst() { std::printf("[ max error ] %-28s %.3g\n", what.c_str(), ratio); }
  void compare(const float* got, const float* ref, std::int64_t n, const std::string& where) {
    for (std::int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(ref[i])) {
        EXPECT_TRUE((std::isnan(got[i]) && std::isnan(ref[i])) || got[i] == ref[i])
            << what << " " << where << " [" << i << "]: got " << got[i] << ", expected " << ref[i];
        continue;
      }
      const double r = std::fabs(double(got[i]) - double(ref[i])) / (1.0 + std::fabs(double(ref[i])));
      EXPECT_LE(r, kTol) << what << " " << where << " [" << i << "]: got " << got[i] << ", expected " << ref[i];
      if (!(r <= ratio)) ratio = r;
    }
  }
  void compare_rows(Rows& got, Rows& ref, const std::string& where) {
    for (std::int64_t r = 0; r < got.rows; ++r) compare(got.row(r), ref.row(r), got.n, where + " row " + std::to_string(r));
    for (std::size_t i = 0; i < got.buf.size(); ++i)  // gaps between rows (and offset 0) untouched
      if (got.buf[i] != ref.buf[i] && ref.buf[i] == kSentinel) ADD_FAILURE() << what << " " << where << ": wrote gap " << i;
  }
};

std::size_t sz(std::int64_t n) { return static_cast<std::size_t>(n); }
std::string size_name(std::int64_t n) { return "n=" + std::to_string(n); }

TEST(ElementwiseKernels, SoftmaxMatchesGeneric) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  std::uniform_int_distribution<int> coin(0, 3);
  for (const Kernels& k : isas()) {
    Worst worst{std::string("softmax ") + k.name};
    for (std::int64_t n : kSizes) {
      Rows x(6, n, n + 5);
      for (std::int64_t i = 0; i < n; ++i) {
        x.row(0)[i] = normal(rng);
        x.row(1)[i] = coin(rng) == 0 || i < n / 3 ? -kInf : normal(rng);  // leading and scattered -inf
        x.row(2)[i] = -kInf;                                             // fully masked
        x.row(3)[i] = normal(rng) * 1e30f;                               // huge range
        x.row(4)[i] = 3.0f;                                              // uniform
        x.row(5)[i] = i + 1 == n ? 80.0f : normal(rng) * 1e-3f;          // one dominant entry
      }
      Rows ref = x;
      generic::softmax_rows(ref.data(), ref.rows, n, ref.ld);
      k.softmax_rows(x.data(), x.rows, n, x.ld);
      worst.compare_rows(x, ref, size_name(n));
      for (std::int64_t i = 0; i < n; ++i) EXPECT_EQ(x.row(2)[i], 0.0f);
    }
  }
}

// Left padding: k leading -inf (and any trailing -inf) do not change a single bit of the other
// probabilities, and a row gives the same bits alone or among other rows.
TEST(ElementwiseKernels, SoftmaxIgnoresMaskedPaddingBitwise) {
  std::mt19937 rng(2);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (const Kernels& k : isas()) {
    for (std::int64_t n : kSizes) {
      std::vector<float> base(sz(n));
      for (float& v : base) v = normal(rng);
      std::vector<float> alone = base;
      k.softmax_rows(alone.data(), 1, n, n);
      for (std::int64_t lead : {1, 3, 8, 13, 16, 17, 40}) {
        for (std::int64_t trail : {0, 5}) {
          const std::int64_t len = lead + n + trail;
          Rows padded(3, len, len + 1);
          for (std::int64_t r = 0; r < 3; ++r) {
            for (std::int64_t i = 0; i < len; ++i) padded.row(r)[i] = -kInf;
            for (std::int64_t i = 0; i < n; ++i) padded.row(r)[lead + i] = r == 1 ? base[i] : normal(rng);
          }
          k.softmax_rows(padded.data(), 3, len, padded.ld);
          EXPECT_EQ(std::memcmp(padded.row(1) + lead, alone.data(), sizeof(float) * std::size_t(n)), 0)
              << k.name << " n=" << n << " lead=" << lead << " trail=" << trail;
          for (std::int64_t i = 0; i < lead; ++i) EXPECT_EQ(padded.row(1)[i], 0.0f);
          for (std::int64_t i = 0; i < trail; ++i) EXPECT_EQ(padded.row(1)[lead + n + i], 0.0f);
        }
      }
    }
  }
}

// Rows: N(0,1); mean 1e4 +- 1; N(0,1) * 1e15; (1e4 +- 1) * 1e15; tiny values; constant.
void fill_norm_rows(Rows& x, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (std::int64_t i = 0; i < x.n; ++i) {
    x.row(0)[i] = normal(rng);
    x.row(1)[i] = 1e4f + unit(rng);
    x.row(2)[i] = normal(rng) * 1e15f;
    x.row(3)[i] = (1e4f + unit(rng)) * 1e15f;
    x.row(4)[i] = normal(rng) * 1e-6f;
    x.row(5)[i] = -7.5f;
  }
}

TEST(ElementwiseKernels, LayerNormMatchesGeneric) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const Kernels& k : isas()) {
    Worst worst{std::string("layer_norm ") + k.name};
    for (std::int64_t n : kSizes) {
      Rows x(6, n, n + 3);
      fill_norm_rows(x, rng);
      std::vector<float> weight(sz(n)), bias(sz(n));
      for (std::int64_t i = 0; i < n; ++i) weight[std::size_t(i)] = 1.0f + normal(rng) * 0.5f, bias[std::size_t(i)] = normal(rng);
      for (bool with_bias : {true, false}) {
        Rows y(6, n, n + 2), ref(6, n, n + 2);
        const float* b = with_bias ? bias.data() : nullptr;
        generic::layer_norm_rows(x.data(), x.ld, ref.data(), ref.ld, 6, n, weight.data(), b, 1e-5f);
        k.layer_norm_rows(x.data(), x.ld, y.data(), y.ld, 6, n, weight.data(), b, 1e-5f);
        worst.compare_rows(y, ref, size_name(n) + (with_bias ? " bias" : " no bias"));
      }
    }
  }
}

TEST(ElementwiseKernels, RmsNormMatchesGeneric) {
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const Kernels& k : isas()) {
    Worst worst{std::string("rms_norm ") + k.name};
    for (std::int64_t n : kSizes) {
      Rows x(6, n, n + 3);
      fill_norm_rows(x, rng);
      std::vector<float> weight(sz(n));
      for (float& w : weight) w = 1.0f + normal(rng) * 0.5f;
      for (float eps : {1e-6f, 0.0f}) {
        Rows y(6, n, n + 2), ref(6, n, n + 2);
        generic::rms_norm_rows(x.data(), x.ld, ref.data(), ref.ld, 6, n, weight.data(), eps);
        k.rms_norm_rows(x.data(), x.ld, y.data(), y.ld, 6, n, weight.data(), eps);
        worst.compare_rows(y, ref, size_name(n) + " eps=" + std::to_string(eps));
      }
    }
  }
}

constexpr Activation kActivations[] = {Activation::relu, Activation::gelu_erf, Activation::gelu_tanh, Activation::silu,
                                       Activation::tanh};
const char* const kActivationNames[] = {"relu", "gelu_erf", "gelu_tanh", "silu", "tanh"};

// Normal values with a wide spread, the special values first (so small n sees some of them).
std::vector<float> activation_input(std::int64_t n, std::mt19937& rng) {
  static const float special[] = {100.0f, -100.0f, kNaN, 0.0f, -0.0f, 88.5f, -88.5f, 89.5f, -89.5f, 1e10f, -1e10f,
                                  kInf, -kInf, 1e-8f, -1e-8f, 0.625f, -0.625f, 1.4142135f, -1.4142135f, 6.0f, -6.0f,
                                  9.0f, -9.0f, 5.5f, -5.5f};
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> x(std::size_t(n) + 1, kSentinel);  // x.data() + 1 is unaligned
  for (std::int64_t i = 0; i < n; ++i) x[std::size_t(i) + 1] = i < 25 && (i % 2 == 0 || n > 50) ? special[i] : normal(rng);
  return x;
}

TEST(ElementwiseKernels, ActivationsMatchGeneric) {
  std::mt19937 rng(5);
  for (const Kernels& k : isas()) {
    for (int a = 0; a < 5; ++a) {
      const Activation act = kActivations[a];
      Worst worst{std::string(kActivationNames[a]) + " " + k.name};
      for (std::int64_t n : kSizes) {
        std::vector<float> x = activation_input(n, rng), ref = x;
        generic::activate(act, ref.data() + 1, n);
        k.activate(act, x.data() + 1, n);
        worst.compare(x.data() + 1, ref.data() + 1, n, size_name(n));
        // A dense sweep of [-12, 12] (where the approximations switch branches).
        std::vector<float> sweep(sz(n)), sweep_ref;
        for (std::int64_t i = 0; i < n; ++i) sweep[std::size_t(i)] = -12.0f + 24.0f * float(i) / float(n);
        sweep_ref = sweep;
        generic::activate(act, sweep_ref.data(), n);
        k.activate(act, sweep.data(), n);
        worst.compare(sweep.data(), sweep_ref.data(), n, "sweep " + size_name(n));
      }
    }
  }
}

TEST(ElementwiseKernels, GatedActivationsMatchGenericAndMayAlias) {
  std::mt19937 rng(6);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (const Kernels& k : isas()) {
    for (int a = 0; a < 5; ++a) {
      const Activation act = kActivations[a];
      Worst worst{std::string("gated ") + kActivationNames[a] + " " + k.name};
      for (std::int64_t n : kSizes) {
        const std::vector<float> gate = activation_input(n, rng);
        std::vector<float> up(sz(n) + 1), ref(sz(n) + 1), out(sz(n) + 1);
        for (float& u : up) u = normal(rng);
        generic::activate_gated(act, gate.data() + 1, up.data() + 1, ref.data() + 1, n);
        k.activate_gated(act, gate.data() + 1, up.data() + 1, out.data() + 1, n);
        worst.compare(out.data() + 1, ref.data() + 1, n, size_name(n));
        std::vector<float> g = gate, u = up;  // out aliases gate, then up
        k.activate_gated(act, g.data() + 1, up.data() + 1, g.data() + 1, n);
        worst.compare(g.data() + 1, ref.data() + 1, n, "out=gate " + size_name(n));
        k.activate_gated(act, gate.data() + 1, u.data() + 1, u.data() + 1, n);
        worst.compare(u.data() + 1, ref.data() + 1, n, "out=up " + size_name(n));
      }
    }
  }
}

TEST(ElementwiseKernels, AddMatchesGenericAndMayAlias) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1e3f);
  for (const Kernels& k : isas()) {
    Worst worst{std::string("add ") + k.name};
    for (std::int64_t n : kSizes) {
      std::vector<float> a(sz(n)), b(sz(n)), ref(sz(n)), out(sz(n));
      for (std::size_t i = 0; i < a.size(); ++i) a[i] = normal(rng), b[i] = normal(rng);
      generic::add(a.data(), b.data(), ref.data(), n);
      k.add(a.data(), b.data(), out.data(), n);
      worst.compare(out.data(), ref.data(), n, size_name(n));
      std::vector<float> a2 = a, b2 = b, twice = a, twice_ref(sz(n));
      k.add(a2.data(), b.data(), a2.data(), n);
      k.add(a.data(), b2.data(), b2.data(), n);
      worst.compare(a2.data(), ref.data(), n, "out=a " + size_name(n));
      worst.compare(b2.data(), ref.data(), n, "out=b " + size_name(n));
      generic::add(a.data(), a.data(), twice_ref.data(), n);
      k.add(twice.data(), twice.data(), twice.data(), n);
      worst.compare(twice.data(), twice_ref.data(), n, "out=a=b " + size_name(n));
    }
  }
}

TEST(ElementwiseKernels, ThisMachineRunsAtLeastOneIsa) {
  if (isas().empty()) GTEST_SKIP() << "no AVX2 here: only generic exists";
  SUCCEED();
}

}  // namespace
}  // namespace qkv::kernels
#endif
