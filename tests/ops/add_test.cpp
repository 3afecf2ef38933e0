#include "qkv/ops/add.hpp"

#include "support/reference.hpp"

namespace qkv {
namespace {

TEST(Add, ElementwiseSumInPlace) {
  test::for_each_isa([&](Isa) {
    for (std::int64_t n : {1, 7, 33, 1000}) {
      Tensor<float> a({2, n}), b({2, n});
      for (std::int64_t i = 0; i < 2 * n; ++i) a.data()[i] = float(i), b.data()[i] = 0.5f * float(i) - 3.0f;
      ops::add(a, b, a);
      for (std::int64_t i = 0; i < 2 * n; ++i) ASSERT_EQ(a.data()[i], float(i) + (0.5f * float(i) - 3.0f));
    }
  });
  Tensor<float> a({2, 3}), b({3, 2});
  EXPECT_THROW(ops::add(a, b, a), Error);
}

}  // namespace
}  // namespace qkv
