// KernelTable::attention (the fused attention with an online softmax) and KernelTable::rotary_rows
// on every ISA the CPU has: attention against a float64 reference computed here and against
// kernels::generic, over odd sizes, head sizes, dv != d, row strides > the row, unaligned rows,
// every mask kind alone and combined, causal offsets (decode), fully masked rows, huge scores;
// bitwise invariance under left/right batch padding; rotary bitwise equal to generic.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "qkv/kernels/avx2/table.hpp"
#include "qkv/kernels/avx512/table.hpp"
#include "qkv/kernels/dispatch.hpp"
#include "qkv/kernels/generic.hpp"

namespace qkv::kernels::attention_kernel_test {

constexpr float kAkSentinel = 12345.0f;
constexpr float kAkNaN = std::numeric_limits<float>::quiet_NaN();
constexpr double kAkTol = 1e-5;

struct AkIsa {
  const char* name;
  decltype(KernelTable::attention) attention;
  decltype(KernelTable::rotary_rows) rotary_rows;
};

// generic first, then every x86 ISA this CPU runs.
std::vector<AkIsa> ak_isas() {
  std::vector<AkIsa> list{{"generic", generic::attention, generic::rotary_rows}};
#if QKV_X86_KERNELS
  if (cpu_supports(Isa::avx2)) list.push_back({"avx2", avx2::attention, avx2::rotary_rows});
  if (cpu_supports(Isa::avx512)) list.push_back({"avx512", avx512::attention, avx512::rotary_rows});
#endif
  return list;
}

// rows x cols floats with row stride ld, starting one float into the allocation (unaligned); the
// allocation ends at the last row's end (AddressSanitizer sees overruns), gaps hold a sentinel.
struct AkMatrix {
  std::int64_t rows = 0, cols = 0, ld = 0;
  std::vector<float> buf;
  AkMatrix() = default;
  AkMatrix(std::int64_t rows_, std::int64_t cols_, std::int64_t ld_)
      : rows(rows_), cols(cols_), ld(ld_), buf(std::size_t(1 + (rows_ > 0 ? (rows_ - 1) * ld_ + cols_ : 0)), kAkSentinel) {}
  float* data() { return buf.data() + 1; }
  const float* data() const { return buf.data() + 1; }
  float& at(std::int64_t r, std::int64_t c) { return buf[std::size_t(1 + r * ld + c)]; }
  float at(std::int64_t r, std::int64_t c) const { return buf[std::size_t(1 + r * ld + c)]; }
  void fill_uniform(std::mt19937& rng, float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) at(r, c) = dist(rng);
  }
  // Everything outside the rows' [0, cols) still holds the sentinel.
  bool gaps_intact() const {
    if (buf[0] != kAkSentinel) return false;
    for (std::int64_t r = 0; r + 1 < rows; ++r)
      for (std::int64_t c = cols; c < ld; ++c)
        if (at(r, c) != kAkSentinel) return false;
    return true;
  }
};

// One attention problem of one head, with its masks.
struct AkProblem {
  std::int64_t lq, lk, d, dv;
  float scale;
  AkMatrix q, k, v;
  bool causal = false;
  std::int64_t causal_offset = 0;
  std::vector<std::uint8_t> padding;  // [lk] or empty
  std::vector<std::uint8_t> blocked;  // [lq, lk + 2] or empty
  AkMatrix additive;                  // [lq, lk] or empty
  AkProblem(std::int64_t lq_, std::int64_t lk_, std::int64_t d_, std::int64_t dv_, std::mt19937& rng)
      : lq(lq_), lk(lk_), d(d_), dv(dv_), scale(float(1.0 / std::sqrt(double(d_)))),
        q(lq_, d_, d_ + 3), k(lk_, d_, d_ + 5), v(lk_, dv_, dv_ + 1) {
    q.fill_uniform(rng, -1.5f, 1.5f);
    k.fill_uniform(rng, -1.5f, 1.5f);
    v.fill_uniform(rng, -2.0f, 2.0f);
  }
  std::int64_t ld_blocked() const { return lk + 2; }
  void add_padding(std::mt19937& rng) {  // about a third of the keys, the first one included
    padding.assign(std::size_t(lk), 0);
    for (std::int64_t j = 0; j < lk; ++j) padding[std::size_t(j)] = j == 0 || rng() % 3 == 0;
  }
  void add_blocked(std::mt19937& rng) {
    blocked.assign(std::size_t(lq * ld_blocked()), 0);
    for (std::int64_t i = 0; i < lq; ++i)
      for (std::int64_t j = 0; j < lk; ++j) blocked[std::size_t(i * ld_blocked() + j)] = rng() % 4 == 0;
  }
  void add_additive(std::mt19937& rng, bool with_minus_inf) {
    additive = AkMatrix(lq, lk, lk + 1);
    additive.fill_uniform(rng, -3.0f, 3.0f);
    if (with_minus_inf)
      for (std::int64_t i = 0; i < lq; ++i)
        for (std::int64_t j = 0; j < lk; ++j)
          if (rng() % 5 == 0) additive.at(i, j) = -std::numeric_limits<float>::infinity();
  }
  AttentionKernelMask mask() const {
    AttentionKernelMask m;
    m.causal = causal;
    m.causal_offset = causal_offset;
    m.key_padding = padding.empty() ? nullptr : padding.data();
    if (!blocked.empty()) m.blocked = blocked.data(), m.ld_blocked = ld_blocked();
    if (additive.rows > 0) m.additive = additive.data(), m.ld_additive = additive.ld;
    return m;
  }
  AkMatrix run(const AkIsa& isa) const {
    AkMatrix out(lq, dv, dv + 2);
    isa.attention(q.data(), q.ld, k.data(), k.ld, v.data(), v.ld, out.data(), out.ld, lq, lk, d, dv, scale, mask());
    EXPECT_TRUE(out.gaps_intact()) << isa.name << ": the kernel wrote outside the output rows";
    return out;
  }
  bool visible(std::int64_t i, std::int64_t j) const {
    if (causal && j > i + causal_offset) return false;
    if (!padding.empty() && padding[std::size_t(j)]) return false;
    return blocked.empty() || !blocked[std::size_t(i * ld_blocked() + j)];
  }
  // softmax(q k^T * scale + additive, masked -> -inf) v in float64; a fully masked row is zero.
  std::vector<double> reference() const {
    std::vector<double> out(std::size_t(lq * dv), 0.0);
    std::vector<double> s(std::size_t(lk), 0.0);
    for (std::int64_t i = 0; i < lq; ++i) {
      double max = -INFINITY;
      for (std::int64_t j = 0; j < lk; ++j) {
        s[std::size_t(j)] = -INFINITY;
        if (!visible(i, j)) continue;
        double dot = 0.0;
        for (std::int64_t p = 0; p < d; ++p) dot += double(q.at(i, p)) * double(k.at(j, p));
        s[std::size_t(j)] = dot * double(scale) + (additive.rows > 0 ? double(additive.at(i, j)) : 0.0);
        max = std::max(max, s[std::size_t(j)]);
      }
      if (max == -INFINITY) continue;
      double sum = 0.0;
      for (std::int64_t j = 0; j < lk; ++j) sum += s[std::size_t(j)] == -INFINITY ? 0.0 : std::exp(s[std::size_t(j)] - max);
      for (std::int64_t j = 0; j < lk; ++j) {
        if (s[std::size_t(j)] == -INFINITY) continue;
        const double p = std::exp(s[std::size_t(j)] - max) / sum;
        for (std::int64_t c = 0; c < dv; ++c) out[std::size_t(i * dv + c)] += p * double(v.at(j, c));
      }
    }
    return out;
  }
};

// Worst |got - ref| and |got - ref| / (1 + |ref|) per ISA over a test, printed at its end.
struct AkWorst {
  std::string what;
  double abs = 0.0, ratio = 0.0;
  void print() const { std::printf("[ max error ] %-40s abs %.3g  rel %.3g\n", what.c_str(), abs, ratio); }
  void compare(const AkMatrix& got, const std::vector<double>& ref, const std::string& where) {
    std::int64_t bad = 0;
    for (std::int64_t i = 0; i < got.rows; ++i)
      for (std::int64_t c = 0; c < got.cols; ++c) {
        const double r = ref[std::size_t(i * got.cols + c)], g = got.at(i, c);
        const double diff = std::fabs(g - r), ratio_here = diff / (1.0 + std::fabs(r));
        if (!(diff <= abs)) abs = diff;
        if (!(ratio_here <= ratio)) ratio = ratio_here;
        if (!(ratio_here <= kAkTol) && bad++ < 3)
          ADD_FAILURE() << what << " " << where << " out[" << i << ", " << c << "] = " << g << ", expected " << r;
      }
  }
};

std::vector<double> ak_widen(const AkMatrix& m) {
  std::vector<double> out(std::size_t(m.rows * m.cols));
  for (std::int64_t i = 0; i < m.rows; ++i)
    for (std::int64_t c = 0; c < m.cols; ++c) out[std::size_t(i * m.cols + c)] = m.at(i, c);
  return out;
}

std::string ak_where(const AkProblem& p, const std::string& masks) {
  return "lq " + std::to_string(p.lq) + " lk " + std::to_string(p.lk) + " d " + std::to_string(p.d) + " dv " +
         std::to_string(p.dv) + " " + masks;
}

// Runs every ISA on p and compares with the float64 reference and with generic.
void ak_check(const AkProblem& p, const std::string& masks, std::vector<AkWorst>& vs_ref,
              std::vector<AkWorst>& vs_generic) {
  const auto isas = ak_isas();
  const std::vector<double> ref = p.reference();
  const std::vector<double> generic_out = ak_widen(p.run(isas[0]));
  for (std::size_t n = 0; n < isas.size(); ++n) {
    const AkMatrix got = p.run(isas[n]);
    vs_ref[n].compare(got, ref, ak_where(p, masks));
    vs_generic[n].compare(got, generic_out, ak_where(p, masks));
  }
}

struct AkReport {
  std::vector<AkWorst> vs_ref, vs_generic;
  explicit AkReport(const std::string& test) {
    for (const AkIsa& isa : ak_isas()) {
      vs_ref.push_back({test + " " + isa.name + " vs float64"});
      vs_generic.push_back({test + " " + isa.name + " vs generic"});
    }
  }
  ~AkReport() {
    for (const AkWorst& w : vs_ref) w.print();
    for (const AkWorst& w : vs_generic) w.print();
  }
};

const std::int64_t kAkLengths[] = {1, 3, 7, 17, 33, 100};
const std::int64_t kAkHeadSizes[] = {1, 7, 16, 64, 80, 128};

// One problem without masks (values of width dv_plain), one with every mask kind at once (dv_all).
void ak_check_unmasked_and_all_masks(std::int64_t lq, std::int64_t lk, std::int64_t d, std::int64_t dv_plain,
                                     std::int64_t dv_all, std::mt19937& rng, AkReport& report) {
  AkProblem plain(lq, lk, d, dv_plain, rng);
  ak_check(plain, "no mask", report.vs_ref, report.vs_generic);
  AkProblem all(lq, lk, d, dv_all, rng);
  all.causal = true;
  all.causal_offset = lk - lq;
  all.add_padding(rng);
  all.add_blocked(rng);
  all.add_additive(rng, true);
  ak_check(all, "all masks", report.vs_ref, report.vs_generic);
}

TEST(AttentionKernel, MatchesReferenceOverSizesWithoutAndWithAllMasks) {
  AkReport report("sizes");
  std::mt19937 rng(1);
  for (std::int64_t d : kAkHeadSizes)
    for (std::int64_t lq : kAkLengths)
      for (std::int64_t lk : kAkLengths) {
        const bool full = d == 7 || d == 64;  // the other head sizes on a subset of the lengths
        if (!full && (lq + lk) % 3 != 0 && !(lq == 1 && lk == 100)) continue;
        for (std::int64_t dv : {d, d == 64 ? std::int64_t(80) : std::int64_t(33)}) {
          ak_check_unmasked_and_all_masks(lq, lk, d, dv, dv, rng, report);
        }
      }
}

TEST(AttentionKernel, LongSequences) {
  AkReport report("long");
  std::mt19937 rng(2);
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {{1, 1000}, {3, 1000}, {17, 1000}, {1000, 33}, {100, 1000}};
  for (auto [lq, lk] : shapes) {
    ak_check_unmasked_and_all_masks(lq, lk, 64, 64, 80, rng, report);
  }
}

TEST(AttentionKernel, EachMaskKindAlone) {
  AkReport report("masks");
  std::mt19937 rng(3);
  for (std::int64_t lq : {1, 7, 33})
    for (std::int64_t lk : {1, 17, 100})
      for (int kind = 0; kind < 5; ++kind) {
        AkProblem p(lq, lk, 64, 64, rng);
        std::string name;
        switch (kind) {
          case 0: p.causal = true, p.causal_offset = lk - lq, name = "causal"; break;
          case 1: p.add_padding(rng), name = "key padding"; break;
          case 2: p.add_blocked(rng), name = "blocked"; break;
          case 3: p.add_additive(rng, false), name = "additive"; break;
          case 4: p.add_additive(rng, true), name = "additive with -inf"; break;
        }
        ak_check(p, name, report.vs_ref, report.vs_generic);
      }
}

TEST(AttentionKernel, CausalOffsetsIncludingDecode) {
  AkReport report("causal");
  std::mt19937 rng(4);
  for (std::int64_t lk : {1, 7, 17, 100, 1000}) {
    AkProblem decode(1, lk, 64, 64, rng);  // one new token over a cache of lk - 1 earlier ones
    decode.causal = true;
    decode.causal_offset = lk - 1;
    ak_check(decode, "decode", report.vs_ref, report.vs_generic);
    for (std::int64_t offset : {-3, 0, 5, 40}) {
      AkProblem p(33, lk, 16, 7, rng);
      p.causal = true;
      p.causal_offset = offset;
      ak_check(p, "causal offset " + std::to_string(offset), report.vs_ref, report.vs_generic);
    }
  }
}

// Decode scores one query row against the keys as they are; a prefill of 16+ rows first transposes
// the keys (AVX-512). Each row of a causal prefill must still have the bits of decoding that token
// over the keys up to it, for head sizes on both sides of that choice.
TEST(AttentionKernel, CausalPrefillRowsAreBitwiseTheirDecode) {
  std::mt19937 rng(8);
  for (const AkIsa& isa : ak_isas())
    for (std::int64_t d : {16, 64, 80, 7})
      for (std::int64_t length : {16, 40}) {
        AkProblem prefill(length, length, d, 24, rng);
        prefill.causal = true;
        const AkMatrix rows = prefill.run(isa);
        for (std::int64_t i : {std::int64_t(0), std::int64_t(15), length - 1}) {
          AkProblem decode(1, i + 1, d, 24, rng);
          decode.causal = true;
          decode.causal_offset = i;
          for (std::int64_t c = 0; c < d; ++c) decode.q.at(0, c) = prefill.q.at(i, c);
          for (std::int64_t j = 0; j <= i; ++j) {
            for (std::int64_t c = 0; c < d; ++c) decode.k.at(j, c) = prefill.k.at(j, c);
            for (std::int64_t c = 0; c < 24; ++c) decode.v.at(j, c) = prefill.v.at(j, c);
          }
          const AkMatrix row = decode.run(isa);
          std::int64_t differing = 0;
          for (std::int64_t c = 0; c < 24; ++c) {
            const float a = row.at(0, c), b = rows.at(i, c);
            differing += std::memcmp(&a, &b, sizeof a) != 0;
          }
          EXPECT_EQ(differing, 0) << isa.name << " d=" << d << " length=" << length << " row " << i;
        }
      }
}

TEST(AttentionKernel, FullyMaskedRowsAreZero) {
  std::mt19937 rng(5);
  for (const AkIsa& isa : ak_isas()) {
    // Rows 0 and 2 blocked everywhere; row 4 all -inf additive; causal offset -2 hides everything
    // from rows 0 and 1.
    AkProblem p(7, 40, 16, 16, rng);
    p.causal = true;
    p.causal_offset = -2;
    p.add_blocked(rng);
    for (std::int64_t j = 0; j < p.lk; ++j) p.blocked[std::size_t(0 * p.ld_blocked() + j)] = p.blocked[std::size_t(2 * p.ld_blocked() + j)] = 1;
    p.add_additive(rng, false);
    for (std::int64_t j = 0; j < p.lk; ++j) p.additive.at(4, j) = -std::numeric_limits<float>::infinity();
    const AkMatrix out = p.run(isa);
    for (std::int64_t i : {0, 1, 2, 4})
      for (std::int64_t c = 0; c < p.dv; ++c)
        EXPECT_TRUE(out.at(i, c) == 0.0f && !std::signbit(out.at(i, c))) << isa.name << " row " << i << " col " << c << ": " << out.at(i, c);
    AkWorst worst{std::string("fully masked ") + isa.name};
    worst.compare(out, p.reference(), "partially masked rows");
    worst.print();
    // Every key padded: every row is zero.
    AkProblem all(5, 20, 8, 8, rng);
    all.padding.assign(20, 1);
    const AkMatrix zeros = all.run(isa);
    for (std::int64_t i = 0; i < all.lq; ++i)
      for (std::int64_t c = 0; c < all.dv; ++c) EXPECT_EQ(zeros.at(i, c), 0.0f) << isa.name;
  }
}

// Scores of exact integers (inputs are small integers, scale 1): scale * q.k near +-1e4 and +-88,
// where exp of a raw score overflows or underflows. The max may come first, last, or grow tile by
// tile (every tile rescales).
TEST(AttentionKernel, LargeMagnitudeScores) {
  AkReport report("large scores");
  std::mt19937 rng(6);
  for (float base : {10000.0f, -10000.0f, 88.0f, -88.0f, 100.0f})
    for (int order = 0; order < 3; ++order)
      for (std::int64_t lk : {17, 100, 1000}) {
        AkProblem p(3, lk, 16, 16, rng);
        p.scale = 1.0f;
        for (std::int64_t i = 0; i < p.lq; ++i) {
          for (std::int64_t c = 0; c < p.d; ++c) p.q.at(i, c) = 0.0f;
          p.q.at(i, 0) = base / 4.0f;  // exact: base is a multiple of 4
          p.q.at(i, 1) = float(i + 1);
        }
        for (std::int64_t j = 0; j < lk; ++j) {
          for (std::int64_t c = 0; c < p.d; ++c) p.k.at(j, c) = 0.0f;
          p.k.at(j, 0) = 4.0f;
          const std::int64_t step = order == 0 ? j : order == 1 ? lk - j : std::int64_t(rng() % 9);
          p.k.at(j, 1) = float(step % 13) - 6.0f;  // score = base + (i + 1) * (step % 13 - 6)
        }
        if (base == 100.0f)  // mixed signs: half the keys far below the max
          for (std::int64_t j = 0; j < lk; j += 2) p.k.at(j, 0) = -4.0f;
        ak_check(p, "base " + std::to_string(base) + " order " + std::to_string(order), report.vs_ref,
                 report.vs_generic);
        AkProblem masked = p;
        masked.causal = true;
        masked.causal_offset = lk - 3;
        masked.add_padding(rng);
        ak_check(masked, "masked base " + std::to_string(base), report.vs_ref, report.vs_generic);
      }
}

// A sequence alone against the same sequence inside a batch row: left padding (pad keys first,
// marked in key_padding, queries shifted) and right padding (pad keys and queries appended). The
// sequence's output rows must keep their bits. Pad rows hold NaN: they must not leak either.
TEST(AttentionKernel, PaddingLeavesSequenceBitwiseUnchanged) {
  std::mt19937 rng(7);
  for (const AkIsa& isa : ak_isas())
    for (bool decode : {false, true})
      for (std::int64_t length : {5, 17, 37, 100})
        for (std::int64_t pad : {1, 3, 16, 21}) {
          // Without blocked keys, rows away from the diagonal see the same keys and share p v work
          // (AVX-512); a padding that is not a multiple of the query tile changes which rows share it.
          const bool blocked = pad == 1 || pad == 16;
          const std::int64_t lq = decode ? 1 : length, d = 64, dv = 48;
          AkProblem alone(lq, length, d, dv, rng);
          alone.causal = true;
          alone.causal_offset = length - lq;
          if (blocked) alone.add_blocked(rng);
          alone.add_additive(rng, false);
          for (std::int64_t j = 0; j < length && blocked; j += 5) alone.blocked[std::size_t(j)] = 0;  // row 0 keeps keys
          const AkMatrix expected = alone.run(isa);
          for (bool left : {true, false}) {
            const std::int64_t shift = left ? pad : 0;  // where the sequence starts in the batch row
            const std::int64_t plq = decode ? 1 : lq + pad;
            const std::int64_t qshift = decode ? 0 : shift;
            AkProblem padded(plq, length + pad, d, dv, rng);
            for (auto* m : {&padded.q, &padded.k, &padded.v})
              for (std::int64_t r = 0; r < m->rows; ++r)
                for (std::int64_t c = 0; c < m->cols; ++c) m->at(r, c) = kAkNaN;
            padded.causal = true;
            padded.causal_offset = decode ? length + pad - 1 : alone.causal_offset;
            padded.padding.assign(std::size_t(length + pad), 1);
            if (blocked) padded.add_blocked(rng);
            padded.add_additive(rng, false);
            for (std::int64_t i = 0; i < plq; ++i)
              for (std::int64_t j = 0; j < padded.lk; ++j) padded.additive.at(i, j) = kAkNaN;
            for (std::int64_t j = 0; j < length; ++j) {
              padded.padding[std::size_t(shift + j)] = 0;
              for (std::int64_t c = 0; c < d; ++c) padded.k.at(shift + j, c) = alone.k.at(j, c);
              for (std::int64_t c = 0; c < dv; ++c) padded.v.at(shift + j, c) = alone.v.at(j, c);
            }
            for (std::int64_t i = 0; i < lq; ++i) {
              for (std::int64_t c = 0; c < d; ++c) padded.q.at(qshift + i, c) = alone.q.at(i, c);
              for (std::int64_t j = 0; j < length; ++j) {
                if (blocked)
                  padded.blocked[std::size_t((qshift + i) * padded.ld_blocked() + shift + j)] =
                      alone.blocked[std::size_t(i * alone.ld_blocked() + j)];
                padded.additive.at(qshift + i, shift + j) = alone.additive.at(i, j);
              }
            }
            const AkMatrix got = padded.run(isa);
            std::int64_t differing = 0;
            for (std::int64_t i = 0; i < lq; ++i)
              for (std::int64_t c = 0; c < dv; ++c) {
                const float a = got.at(qshift + i, c), b = expected.at(i, c);
                differing += std::memcmp(&a, &b, sizeof a) != 0;
              }
            EXPECT_EQ(differing, 0) << isa.name << (left ? " left" : " right") << " padding " << pad << ", length "
                                    << length << (decode ? " (decode)" : "");
          }
        }
}

// x rows [rows, >= 2n] in place; every ISA bitwise equal to generic and to the formula.
TEST(RotaryKernel, EveryIsaBitwiseEqualToGeneric) {
  std::mt19937 rng(8);
  const auto isas = ak_isas();
  for (std::int64_t rows : {1, 3, 7})
    for (std::int64_t n : {1, 3, 7, 8, 15, 16, 17, 33, 64}) {
      const std::int64_t cols = 2 * n + 3;  // partial rotary: the last 3 features stay
      AkMatrix x(rows, cols, cols + 5), cos(rows, n, n + 2), sin(rows, n, n + 3);
      x.fill_uniform(rng, -100.0f, 100.0f);
      cos.fill_uniform(rng, -1.0f, 1.0f);
      sin.fill_uniform(rng, -1.0f, 1.0f);
      AkMatrix expected = x;
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t i = 0; i < n; ++i) {
          const float a = x.at(r, i), b = x.at(r, i + n), c = cos.at(r, i), s = sin.at(r, i);
          volatile float p1 = a * c, p2 = (-b) * s, p3 = b * c, p4 = a * s;  // rounded products, no FMA
          expected.at(r, i) = p1 + p2;
          expected.at(r, i + n) = p3 + p4;
        }
      for (const AkIsa& isa : isas) {
        AkMatrix got = x;
        isa.rotary_rows(got.data(), got.ld, cos.data(), cos.ld, sin.data(), sin.ld, rows, n);
        EXPECT_EQ(std::memcmp(got.buf.data(), expected.buf.data(), got.buf.size() * sizeof(float)), 0)
            << isa.name << " rows " << rows << " n " << n;
      }
    }
}

}  // namespace qkv::kernels::attention_kernel_test
