// The matrix-product kernels of every ISA against generic (float64 sums), over odd sizes,
// unaligned starts, row strides beyond the width, and the bitwise invariances the library
// promises: a row's result does not depend on M, on the tiling, or on the split of the columns.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "qkv/kernels/dispatch.hpp"
#include "qkv/kernels/packing.hpp"

namespace qkv {
namespace {

// A buffer of random values in [-1, 1), starting one float past a 64-byte boundary (unaligned).
struct Matrix {
  std::vector<float> storage;
  float* data;
  std::int64_t rows, cols, ld;
  Matrix(std::int64_t r, std::int64_t c, std::int64_t extra_ld, std::mt19937& rng, float scale = 1.0f)
      : storage(std::size_t(r * (c + extra_ld) + 32)), rows(r), cols(c), ld(c + extra_ld) {
    std::uniform_real_distribution<float> dist(-scale, scale);
    for (float& x : storage) x = dist(rng);
    data = storage.data() + 1;
  }
};

std::vector<Isa> fast_isas() {
  std::vector<Isa> list;
  for (Isa isa : usable_isas())
    if (isa != Isa::generic) list.push_back(isa);
  return list;
}

void expect_near_generic(const std::vector<float>& got, const std::vector<float>& ref, const std::string& what) {
  ASSERT_EQ(got.size(), ref.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double ratio = std::fabs(double(got[i]) - double(ref[i])) / (1.0 + std::fabs(double(ref[i])));
    if (!(ratio <= worst)) worst = ratio;
  }
  EXPECT_LE(worst, 1e-5) << what;
}

const std::int64_t kSizes[] = {1, 3, 7, 17, 33, 100};

TEST(Matmul, NtMatchesGenericOnOddSizes) {
  std::mt19937 rng(1);
  for (Isa isa : fast_isas())
    for (std::int64_t m : kSizes)
      for (std::int64_t n : {1, 5, 17, 33})
        for (std::int64_t k : {1, 7, 17, 100, 1000}) {
          Matrix a(m, k, 3, rng), b(n, k, 5, rng), bias(1, n, 0, rng);
          std::vector<float> got(std::size_t(m * (n + 2)), 7.0f), ref = got;
          for (const float* bias_ptr : {static_cast<const float*>(nullptr), static_cast<const float*>(bias.data)}) {
            kernels::table_for(isa)->matmul_nt(a.data, a.ld, b.data, b.ld, got.data(), n + 2, m, n, k, bias_ptr);
            kernels::generic::matmul_nt(a.data, a.ld, b.data, b.ld, ref.data(), n + 2, m, n, k, bias_ptr);
            expect_near_generic(got, ref, std::string(isa_name(isa)) + " nt m=" + std::to_string(m) + " n=" +
                                              std::to_string(n) + " k=" + std::to_string(k));
          }
        }
}

TEST(Matmul, NnMatchesGenericOnOddSizes) {
  std::mt19937 rng(2);
  for (Isa isa : fast_isas())
    for (std::int64_t m : kSizes)
      for (std::int64_t n : {1, 7, 16, 17, 33, 64, 100})
        for (std::int64_t k : {1, 3, 33, 1000}) {
          Matrix a(m, k, 1, rng), b(k, n, 3, rng);
          std::vector<float> got(std::size_t(m * (n + 1)), 7.0f), ref = got;
          kernels::table_for(isa)->matmul_nn(a.data, a.ld, b.data, b.ld, got.data(), n + 1, m, n, k);
          kernels::generic::matmul_nn(a.data, a.ld, b.data, b.ld, ref.data(), n + 1, m, n, k);
          expect_near_generic(got, ref, std::string(isa_name(isa)) + " nn m=" + std::to_string(m) + " n=" +
                                            std::to_string(n) + " k=" + std::to_string(k));
        }
}

struct Packed {
  std::vector<float> storage;
  float* data;
  Packed(const Matrix& w, bool k_major, std::int64_t n, std::int64_t k)
      : storage(std::size_t(kernels::packed_size(n, k) + 16)) {
    data = storage.data() + (16 - (reinterpret_cast<std::uintptr_t>(storage.data()) / 4) % 16) % 16;
    kernels::pack_panels(w.data, w.ld, n, k, k_major, data);
  }
};

TEST(Matmul, PackedMatchesGenericAndTheUnpackedProduct) {
  std::mt19937 rng(3);
  for (Isa isa : usable_isas())
    for (std::int64_t m : {1, 3, 7, 14, 15, 33, 100})
      for (std::int64_t n : {1, 15, 16, 17, 33, 100})
        for (std::int64_t k : {0, 1, 17, 100, 200, 1000}) {
          Matrix a(m, k, 2, rng), w(n, k, 1, rng), bias(1, n, 0, rng);
          const Packed packed(w, false, n, k);
          std::vector<float> got(std::size_t(m * (n + 3)), 7.0f), ref = got;
          kernels::table_for(isa)->matmul_packed(a.data, a.ld, packed.data, got.data(), n + 3, m, n, k, 0,
                                                 kernels::panel_count(n), bias.data);
          kernels::generic::matmul_nt(a.data, a.ld, w.data, w.ld, ref.data(), n + 3, m, n, k, bias.data);
          expect_near_generic(got, ref, std::string(isa_name(isa)) + " packed m=" + std::to_string(m) + " n=" +
                                            std::to_string(n) + " k=" + std::to_string(k));
        }
}

TEST(Matmul, PackingAKMajorWeightGivesTheSamePanels) {  // HF Conv1D stores [in, out]
  std::mt19937 rng(4);
  const std::int64_t n = 37, k = 23;
  Matrix w(n, k, 0, rng), wt(k, n, 0, rng);
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t p = 0; p < k; ++p) wt.data[p * wt.ld + j] = w.data[j * w.ld + p];
  const Packed a(w, false, n, k), b(wt, true, n, k);
  EXPECT_EQ(0, std::memcmp(a.data, b.data, sizeof(float) * std::size_t(kernels::packed_size(n, k))));
}

// Rows computed alone, inside a larger M, or with the columns split over several calls (as
// threads split them) must be bitwise equal: the same FMA chain per element in every path.
TEST(Matmul, EachElementIsBitwiseIndependentOfMAndOfTheColumnSplitAndOfPackingAOnce) {
  std::mt19937 rng(5);
  for (Isa isa : usable_isas())
    for (auto [m, k] : {std::pair<std::int64_t, std::int64_t>{37, 100}, {37, 777}, {37, 1600}, {300, 777}}) {
      // one, two and three k blocks of the fast GEMMs; M = 300: three blocks of rows (and, on
      // AVX-512, 16-row micro-tiles where M = 37 has 24-row ones)
      const auto& kt = *kernels::table_for(isa);
      const std::int64_t n = 100;
      Matrix a(m, k, 0, rng), w(n, k, 0, rng), bias(1, n, 0, rng);
      const Packed packed(w, false, n, k);
      std::vector<float> all(std::size_t(m * n)), split(std::size_t(m * n)), nt_all(std::size_t(m * n));
      kt.matmul_packed(a.data, a.ld, packed.data, all.data(), n, m, n, k, 0, kernels::panel_count(n), bias.data);
      for (std::int64_t p = 0; p < kernels::panel_count(n); p += 3)
        kt.matmul_packed(a.data, a.ld, packed.data, split.data(), n, m, n, k, p,
                         std::min(p + 3, kernels::panel_count(n)), bias.data);
      EXPECT_EQ(0, std::memcmp(all.data(), split.data(), sizeof(float) * all.size())) << isa_name(isa);
      // A packed once in pieces of row tiles (as threads do), then the same column split.
      const std::int64_t tile = kt.gemm_row_tile(m);
      std::vector<float> rows(std::size_t(kernels::packed_gemm_rows_size(m, k, tile)));
      std::vector<float> prepacked(std::size_t(m * n));
      for (std::int64_t r = 0; r < m; r += 2 * tile)
        kt.pack_gemm_rows(a.data, a.ld, m, k, r, std::min(m, r + 2 * tile), rows.data());
      for (std::int64_t p = 0; p < kernels::panel_count(n); p += 3)
        kt.matmul_prepacked(rows.data(), packed.data, prepacked.data(), n, m, n, k, p,
                            std::min(p + 3, kernels::panel_count(n)), bias.data);
      EXPECT_EQ(0, std::memcmp(all.data(), prepacked.data(), sizeof(float) * all.size())) << isa_name(isa) << " prepacked";
      kt.matmul_nt(a.data, a.ld, w.data, w.ld, nt_all.data(), n, m, n, k, bias.data);
      // nt's tiles take columns a quarter of the call's width apart: other splits, other tiles.
      std::vector<float> nt_split(std::size_t(m * n));
      for (std::int64_t j = 0; j < n; j += 7)
        kt.matmul_nt(a.data, a.ld, w.data + j * w.ld, w.ld, nt_split.data() + j, n, m, std::min<std::int64_t>(7, n - j), k,
                     bias.data + j);
      EXPECT_EQ(0, std::memcmp(nt_all.data(), nt_split.data(), sizeof(float) * nt_all.size())) << isa_name(isa) << " nt";
      for (std::int64_t i : {std::int64_t(0), std::int64_t(13), m / 2 + 1, m - 1}) {
        std::vector<float> one(static_cast<std::size_t>(n)), nt_one(static_cast<std::size_t>(n));
        kt.matmul_packed(a.data + i * a.ld, a.ld, packed.data, one.data(), n, 1, n, k, 0, kernels::panel_count(n),
                         bias.data);
        kt.matmul_nt(a.data + i * a.ld, a.ld, w.data, w.ld, nt_one.data(), n, 1, n, k, bias.data);
        EXPECT_EQ(0, std::memcmp(one.data(), all.data() + i * n, sizeof(float) * std::size_t(n)))
            << isa_name(isa) << " packed row " << i << " k=" << k;
        EXPECT_EQ(0, std::memcmp(nt_one.data(), nt_all.data() + i * n, sizeof(float) * std::size_t(n)))
            << isa_name(isa) << " nt row " << i << " k=" << k;
      }
    }
}

// A packed once for all rows is read in blocks of many rows (AVX-512: 1152): M = 1200 with two k
// blocks crosses both block boundaries; still the bits of the product packed block by block.
TEST(Matmul, PrepackedMatchesPackedAcrossRowAndDepthBlocks) {
  std::mt19937 rng(8);
  for (Isa isa : usable_isas()) {
    const auto& kt = *kernels::table_for(isa);
    const std::int64_t m = 1200, n = 20, k = 777;
    Matrix a(m, k, 3, rng), w(n, k, 0, rng), bias(1, n, 0, rng);
    const Packed packed(w, false, n, k);
    const std::int64_t tile = kt.gemm_row_tile(m);
    std::vector<float> rows(std::size_t(kernels::packed_gemm_rows_size(m, k, tile)));
    const std::int64_t half = (m / 2 + tile - 1) / tile * tile;
    kt.pack_gemm_rows(a.data, a.ld, m, k, 0, half, rows.data());
    kt.pack_gemm_rows(a.data, a.ld, m, k, half, m, rows.data());
    std::vector<float> expected(std::size_t(m * n)), got(std::size_t(m * n));
    kt.matmul_packed(a.data, a.ld, packed.data, expected.data(), n, m, n, k, 0, kernels::panel_count(n), bias.data);
    kt.matmul_prepacked(rows.data(), packed.data, got.data(), n, m, n, k, 0, kernels::panel_count(n), bias.data);
    EXPECT_EQ(0, std::memcmp(expected.data(), got.data(), sizeof(float) * got.size())) << isa_name(isa);
  }
}

TEST(Matmul, LargeMagnitudesAndCancellationStayWithinTolerance) {
  std::mt19937 rng(6);
  for (Isa isa : fast_isas()) {
    const std::int64_t m = 5, n = 9, k = 1000;
    Matrix a(m, k, 0, rng, 1e3f), w(n, k, 0, rng, 1e-3f);
    for (std::int64_t p = 0; p + 1 < k; p += 2) a.data[p + 1] = -a.data[p], w.data[p + 1] = w.data[p];  // row 0 cancels
    const Packed packed(w, false, n, k);
    std::vector<float> got(std::size_t(m * n)), ref(std::size_t(m * n));
    kernels::generic::matmul_nt(a.data, a.ld, w.data, w.ld, ref.data(), n, m, n, k, nullptr);
    kernels::table_for(isa)->matmul_packed(a.data, a.ld, packed.data, got.data(), n, m, n, k, 0,
                                           kernels::panel_count(n), nullptr);
    expect_near_generic(got, ref, std::string(isa_name(isa)) + " packed, large values");
    kernels::table_for(isa)->matmul_nt(a.data, a.ld, w.data, w.ld, got.data(), n, m, n, k, nullptr);
    expect_near_generic(got, ref, std::string(isa_name(isa)) + " nt, large values");
  }
}

}  // namespace
}  // namespace qkv
