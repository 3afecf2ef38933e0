#include "qkv/io/checkpoint.hpp"

#include <gtest/gtest.h>

#include "support/reference.hpp"

#include <filesystem>
#include <fstream>
#include <functional>

namespace qkv {
namespace {

namespace fs = std::filesystem;

class ShardedCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("qkv_checkpoint_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    Tensor<float> a({2, 2}), b({3});
    for (int i = 0; i < 4; ++i) a.data()[i] = float(i);
    for (int i = 0; i < 3; ++i) b.data()[i] = 10.0f + float(i);
    io::write_safetensors((dir_ / "model-00001-of-00002.safetensors").string(), {{"a", a.view()}});
    io::write_safetensors((dir_ / "model-00002-of-00002.safetensors").string(), {{"b", b.view()}});
  }
  void write_index(const std::string& json) { std::ofstream(dir_ / "model.safetensors.index.json") << json; }
  fs::path dir_;
};

TEST_F(ShardedCheckpoint, ReadsTensorsFromTheirShards) {
  write_index(R"({"metadata": {"total_size": 28}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                 "b": "model-00002-of-00002.safetensors"}})");
  const auto c = io::Checkpoint::open_dir(dir_.string());
  EXPECT_EQ(c.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.to_float("a", {2, 2})(1, 1), 3.0f);
  EXPECT_EQ(c.to_float("b", {3})(2), 12.0f);
  EXPECT_NE(test::error_of([&] { c.info("c"); }).find("no tensor 'c'"), std::string::npos);
}

TEST_F(ShardedCheckpoint, ShardNamesWithPathsAreRejected) {
  for (const char* bad : {"../model-00001-of-00002.safetensors", "/etc/passwd", "sub/x.safetensors", "..", ""}) {
    write_index(std::string(R"({"weight_map": {"a": ")") + bad + R"("}})");
    const std::string what = test::error_of([&] { io::Checkpoint::open_dir(dir_.string()); });
    EXPECT_NE(what.find("plain file name"), std::string::npos) << bad << ": " << what;
  }
}

TEST_F(ShardedCheckpoint, IndexErrorsNameTheProblem) {
  write_index(R"({"weight_map": {"a": "model-00002-of-00002.safetensors"}})");
  EXPECT_NE(test::error_of([&] { io::Checkpoint::open_dir(dir_.string()); }).find("tensor 'a' is not in its shard"), std::string::npos);
  write_index(R"({"weight_map": {"a": "missing.safetensors"}})");
  EXPECT_NE(test::error_of([&] { io::Checkpoint::open_dir(dir_.string()); }).find("missing.safetensors"), std::string::npos);
  write_index(R"({"metadata": {}})");
  EXPECT_NE(test::error_of([&] { io::Checkpoint::open_dir(dir_.string()); }).find("weight_map"), std::string::npos);
  write_index(R"({"weight_map": {"a": 3}})");
  EXPECT_NE(test::error_of([&] { io::Checkpoint::open_dir(dir_.string()); }).find("must be a file name"), std::string::npos);
}

TEST(Checkpoint, DirectoryWithoutWeightsIsAnError) {
  EXPECT_NE(test::error_of([] { io::Checkpoint::open_dir(::testing::TempDir()); }).find("no model.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace qkv
