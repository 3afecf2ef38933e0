#include "qkv/kernels/dispatch.hpp"

#include <gtest/gtest.h>

#include "support/reference.hpp"

#include <cstdlib>
#include <functional>
#include <string>

namespace qkv {
namespace {

class EnvIsa : public ::testing::Test {
 protected:
  void TearDown() override { unsetenv("QKV_ISA"); }
};

TEST_F(EnvIsa, UnknownValueIsAnErrorNamingIt) {
  setenv("QKV_ISA", "sse9", 1);
  const std::string what = test::error_of([] { kernels::initial_isa(); });
  EXPECT_NE(what.find("QKV_ISA"), std::string::npos) << what;
  EXPECT_NE(what.find("sse9"), std::string::npos) << what;
}

TEST_F(EnvIsa, GenericCanAlwaysBeChosen) {
  setenv("QKV_ISA", "generic", 1);
  EXPECT_EQ(kernels::initial_isa(), Isa::generic);
}

TEST_F(EnvIsa, AnIsaThatCannotRunHereIsAnErrorNotACrash) {
  for (Isa isa : {Isa::avx2, Isa::avx512}) {
    setenv("QKV_ISA", std::string(isa_name(isa)).c_str(), 1);
    if (kernels::usable(isa)) {
      EXPECT_EQ(kernels::initial_isa(), isa);
    } else {
      const std::string what = test::error_of([] { kernels::initial_isa(); });
      EXPECT_NE(what.find(std::string(isa_name(isa))), std::string::npos) << what;
    }
  }
}

TEST_F(EnvIsa, UnsetPicksTheBestUsableIsa) {
  unsetenv("QKV_ISA");
  EXPECT_EQ(kernels::initial_isa(), usable_isas().front());
}

TEST(SetIsa, SwitchesTheActiveTableAndRejectsUnusable) {
  set_isa("generic");
  EXPECT_EQ(active_isa(), Isa::generic);
  EXPECT_EQ(&kernels::active(), kernels::table_for(Isa::generic));
  EXPECT_THROW(set_isa("fastest"), Error);
  for (Isa isa : {Isa::avx2, Isa::avx512}) {
    if (kernels::usable(isa)) continue;
    EXPECT_THROW(set_isa(isa), Error);
    EXPECT_EQ(active_isa(), Isa::generic);  // a refused switch changes nothing
  }
}

TEST(CpuFeatures, Avx512ImpliesAvx2) {
  EXPECT_TRUE(!cpu_features().avx512 || cpu_features().avx2);
  EXPECT_TRUE(cpu_supports(Isa::generic));
  EXPECT_FALSE(usable_isas().empty());
  EXPECT_EQ(usable_isas().back(), Isa::generic);
}

}  // namespace
}  // namespace qkv
