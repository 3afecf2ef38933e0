#include "qkv/core/dtype.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace qkv {
namespace {

// An independent definition of binary16: (-1)^s * 2^(e-15) * (1 + m/1024), subnormals 2^-14 * m/1024.
double f16_value(std::uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const double sign = s ? -1.0 : 1.0;
  if (e == 0x1f) return m ? std::numeric_limits<double>::quiet_NaN() : sign * INFINITY;
  if (e == 0) return sign * std::ldexp(double(m), -24);
  return sign * std::ldexp(1.0 + m / 1024.0, e - 15);
}

TEST(Float16, WideningIsExactForAllValues) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const float got = f16_to_f32(std::uint16_t(h));
    const double want = f16_value(std::uint16_t(h));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << h;
    } else {
      ASSERT_EQ(double(got), want) << "f16 bits " << h;
    }
    ASSERT_EQ(std::signbit(got), bool(h & 0x8000)) << h;
  }
}

TEST(Float16, NarrowingRoundTripsAndRoundsToNearestEven) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    if (std::isnan(f16_value(std::uint16_t(h)))) continue;
    ASSERT_EQ(f32_to_f16(f16_to_f32(std::uint16_t(h))), h);
  }
  // 1 + 2^-11 lies halfway between 1 (0x3c00, even) and 1 + 2^-10 (0x3c01): rounds to even.
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // rounds up past the largest finite value
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // exactly half the smallest subnormal: even
  EXPECT_EQ(f32_to_f16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
}

TEST(BFloat16, WideningIsExactAndNarrowingRoundsToNearestEven) {
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const float f = bf16_to_f32(std::uint16_t(b));
    ASSERT_EQ(f32_bits(f), b << 16);
    if (!std::isnan(f)) {
      ASSERT_EQ(f32_to_bf16(f), b);
    }
  }
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f808000u)), 0x3f80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f818000u)), 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f808001u)), 0x3f81);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

}  // namespace
}  // namespace qkv
