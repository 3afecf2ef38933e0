#include "qkv/nn/embedding.hpp"

#include "support/reference.hpp"

namespace qkv {
namespace {

TEST(Embedding, LooksUpScaledRows) {
  Tensor<float> table({3, 2});
  for (int i = 0; i < 6; ++i) table.data()[i] = float(i);
  const nn::Embedding emb{table.view(), 2.0f};
  Tensor<std::int64_t> ids({1, 3});
  ids(0, 0) = 2, ids(0, 1) = 0, ids(0, 2) = 2;
  Tensor<float> out({1, 3, 2});
  emb.forward(ids, out);
  EXPECT_EQ(out(0, 0, 0), 8.0f);
  EXPECT_EQ(out(0, 0, 1), 10.0f);
  EXPECT_EQ(out(0, 1, 0), 0.0f);
  EXPECT_EQ(out(0, 1, 1), 2.0f);
  EXPECT_EQ(out(0, 2, 1), 10.0f);
}

TEST(Embedding, OutOfRangeIdIsAnErrorNamingIt) {
  Tensor<float> table({3, 2});
  const nn::Embedding emb{table.view(), 1.0f};
  for (std::int64_t bad : {std::int64_t(3), std::int64_t(-1)}) {
    Tensor<std::int64_t> ids({1, 2});
    ids(0, 1) = bad;
    Tensor<float> out({1, 2, 2});
    try {
      emb.forward(ids, out);
      FAIL() << "expected qkv::Error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("token id " + std::to_string(bad)), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace qkv
