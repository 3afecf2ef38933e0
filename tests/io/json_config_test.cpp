#include "qkv/io/json_config.hpp"

#include <gtest/gtest.h>

#include "support/reference.hpp"

#include <fstream>
#include <functional>

namespace qkv {
namespace {

io::JsonConfig parse(const char* text) { return io::JsonConfig(nlohmann::json::parse(text), "config.json"); }

TEST(JsonConfig, TypedFieldsWithDefaults) {
  const auto c = parse(R"({"n_embd": 32, "eps": 1e-5, "act": "gelu_new", "tie": false, "eos": [1, 2], "bos": 7, "x": null})");
  EXPECT_EQ(c.integer("n_embd"), 32);
  EXPECT_EQ(c.count("n_embd"), 32);
  EXPECT_DOUBLE_EQ(c.number("eps"), 1e-5);
  EXPECT_DOUBLE_EQ(c.number("n_embd"), 32.0);  // integers are numbers
  EXPECT_EQ(c.string("act"), "gelu_new");
  EXPECT_FALSE(c.boolean_or("tie", true));
  EXPECT_EQ(c.integers_or_empty("eos"), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(c.integers_or_empty("bos"), (std::vector<std::int64_t>{7}));
  EXPECT_TRUE(c.integers_or_empty("x").empty());  // null counts as absent
  EXPECT_EQ(c.integer_or("missing", 5), 5);
  EXPECT_FALSE(c.object_or_none("x").has_value());
}

TEST(JsonConfig, ErrorsNameFileFieldAndExpectation) {
  const auto c = parse(R"({"n_head": "4", "n_layer": -2, "eps": "small", "rope_scaling": 3})");
  EXPECT_EQ(test::error_of([&] { c.integer("n_head"); }), "config.json: \"n_head\" must be an integer, got \"4\"");
  EXPECT_EQ(test::error_of([&] { c.count("n_layer"); }), "config.json: \"n_layer\" must be > 0, got -2");
  EXPECT_EQ(test::error_of([&] { c.number("eps"); }), "config.json: \"eps\" must be a number, got \"small\"");
  EXPECT_EQ(test::error_of([&] { c.integer("vocab_size"); }), "config.json: missing required field \"vocab_size\"");
  EXPECT_NE(test::error_of([&] { c.object_or_none("rope_scaling"); }).find("must be an object"), std::string::npos);
}

TEST(JsonConfig, LoadReportsMissingAndMalformedFiles) {
  EXPECT_NE(test::error_of([] { io::JsonConfig::load("/nonexistent/config.json"); }).find("/nonexistent/config.json"),
            std::string::npos);
  const std::string path = ::testing::TempDir() + "/bad_config.json";
  { std::ofstream(path) << "{\"a\": "; }
  EXPECT_NE(test::error_of([&] { io::JsonConfig::load(path); }).find("not valid JSON"), std::string::npos);
  { std::ofstream(path) << "[1, 2]"; }
  EXPECT_NE(test::error_of([&] { io::JsonConfig::load(path); }).find("expected a JSON object"), std::string::npos);
}

}  // namespace
}  // namespace qkv
