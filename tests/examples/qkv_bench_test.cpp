// The qkv-bench program (a contract of DESIGN.md): run on the tiny reference folders of each
// model kind, checking the JSON line compare.py reads, the table, and how it fails.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <thread>

#include "support/run_program.hpp"

namespace qkv {
namespace {

const std::string kBinary = test::example_path("qkv-bench");

class QkvBench : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kBinary)) GTEST_SKIP() << kBinary << " is not built (QKV_BUILD_EXAMPLES=OFF?)";
  }
  static std::string model(const std::string& name) { return "--model '" + test::data_path("hf/" + name) + "'"; }

  // Runs qkv-bench with `args` --json and returns the last stdout line, parsed.
  static nlohmann::json run_json(const std::string& args) {
    const test::ProgramResult r = test::run_example("qkv-bench", args + " --json");
    EXPECT_EQ(r.exit_code, 0) << args << ": " << r.err;
    EXPECT_EQ(r.err, "") << args;
    EXPECT_TRUE(!r.out.empty() && r.out.back() == '\n') << r.out;
    const std::string body = r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
    const std::string last = body.substr(body.find_last_of('\n') == std::string::npos ? 0 : body.find_last_of('\n') + 1);
    nlohmann::json j = nlohmann::json::parse(last, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(j.is_object()) << "last line is not a JSON object: '" << last << "'";
    return j;
  }

  static void expect_common_fields(const nlohmann::json& j, const std::string& model_type, const std::string& what) {
    ASSERT_TRUE(j.is_object()) << what;
    for (const char* key : {"prefill_tokens_per_s", "decode_tokens_per_s", "peak_rss_mb", "isa", "threads", "model_type",
                            "prompt_tokens", "gen_tokens", "batch", "prefill_ms", "decode_ms_per_token"})
      EXPECT_TRUE(j.contains(key)) << what << " has no " << key << ": " << j.dump();
    EXPECT_EQ(j.value("model_type", ""), model_type) << what;
    EXPECT_GT(j.value("prefill_tokens_per_s", 0.0), 0.0) << what;
    EXPECT_GT(j.value("prefill_ms", 0.0), 0.0) << what;
    EXPECT_GT(j.value("peak_rss_mb", 0.0), 1.0) << what;  // at least the program itself
    EXPECT_LT(j.value("peak_rss_mb", 0.0), 4096.0) << what << ": ru_maxrss is in kilobytes on Linux";
    EXPECT_GE(j.value("threads", 0), 1) << what;
    EXPECT_TRUE(j["isa"].is_string() && !j["isa"].get<std::string>().empty()) << what;
    EXPECT_EQ(j.value("prompt_tokens", 0), 8) << what;
    EXPECT_EQ(j.value("batch", 0), 2) << what;
  }
};

const char* const kSmall = " --prompt-tokens 8 --gen-tokens 4 --batch 2";

TEST_F(QkvBench, DecoderOnlyReportsPrefillAndDecode) {
  for (const char* name : {"gpt2_a", "llama_a"}) {
    const nlohmann::json j = run_json(model(name) + kSmall);
    expect_common_fields(j, name == std::string("gpt2_a") ? "gpt2" : "llama", name);
    EXPECT_EQ(j.value("gen_tokens", 0), 4) << name;
    EXPECT_GT(j.value("decode_tokens_per_s", 0.0), 0.0) << name;
    EXPECT_GT(j.value("decode_ms_per_token", 0.0), 0.0) << name;
  }
}

TEST_F(QkvBench, EncoderOnlyHasNoDecode) {
  const nlohmann::json j = run_json(model("bert_a") + kSmall);
  expect_common_fields(j, "bert", "bert_a");
  EXPECT_EQ(j.value("decode_tokens_per_s", -1.0), 0.0);
  EXPECT_EQ(j.value("gen_tokens", -1), 0);
}

TEST_F(QkvBench, EncoderDecoderReportsPrefillAndDecode) {
  for (const auto& [name, type] : {std::pair<const char*, const char*>{"t5_a", "t5"}, {"bart_a", "bart"}}) {
    const nlohmann::json j = run_json(model(name) + kSmall);
    expect_common_fields(j, type, name);
    EXPECT_EQ(j.value("gen_tokens", 0), 4) << name;
    EXPECT_GT(j.value("decode_tokens_per_s", 0.0), 0.0) << name;
  }
}

TEST_F(QkvBench, ZeroGenTokensMeansNoDecode) {
  const nlohmann::json j = run_json(model("gpt2_a") + " --prompt-tokens 8 --gen-tokens 0 --batch 2");
  expect_common_fields(j, "gpt2", "gen 0");
  EXPECT_EQ(j.value("decode_tokens_per_s", -1.0), 0.0);
}

TEST_F(QkvBench, ThreadsFlagIsReported) {
  EXPECT_EQ(run_json(model("gpt2_a") + kSmall + " --threads 3").value("threads", 0), 3);
  EXPECT_EQ(run_json(model("gpt2_a") + kSmall + " --threads 1").value("threads", 0), 1);
  const int hardware = std::max(1, int(std::thread::hardware_concurrency()));
  EXPECT_EQ(run_json(model("gpt2_a") + kSmall).value("threads", 0), hardware);
  EXPECT_EQ(run_json(model("gpt2_a") + kSmall + " --isa generic").value("isa", ""), "generic");
}

TEST_F(QkvBench, VerbosePrintsIsaAndThreadsToStderr) {
  const test::ProgramResult r = test::run_example("qkv-bench", model("gpt2_a") + kSmall + " --threads 2 --verbose --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("threads 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("isa "), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;  // stdout is only the JSON line
}

TEST_F(QkvBench, WithoutJsonPrintsATable) {
  const test::ProgramResult r = test::run_example("qkv-bench", model("gpt2_a") + kSmall);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* word : {"prefill", "decode", "tokens/s", "peak RSS", "threads"})
    EXPECT_NE(r.out.find(word), std::string::npos) << word << " missing from\n" << r.out;
  EXPECT_EQ(r.out.find('{'), std::string::npos) << r.out;
}

TEST_F(QkvBench, FailuresAreOneLineOnStderr) {
  test::expect_one_line_error(test::run_example("qkv-bench", "--model /nonexistent/dir --json"), "/nonexistent/dir");
  test::expect_one_line_error(test::run_example("qkv-bench", "--json"), "--model");
  test::expect_one_line_error(test::run_example("qkv-bench", model("gpt2_a") + " --prompt-tokens 0 --json"),
                              "--prompt-tokens must be at least 1, got 0");
  test::expect_one_line_error(test::run_example("qkv-bench", model("gpt2_a") + " --gen-tokens -1"), "--gen-tokens");
  test::expect_one_line_error(test::run_example("qkv-bench", model("gpt2_a") + " --batch 0"), "--batch");
  test::expect_one_line_error(test::run_example("qkv-bench", model("gpt2_a") + " --prompt-tokens x"), "--prompt-tokens expects an integer");
  test::expect_one_line_error(test::run_example("qkv-bench", model("gpt2_a") + " --threads 0"), "--threads must be between 1 and");
  // gpt2_a has 64 learned positions.
  test::expect_one_line_error(test::run_example("qkv-bench", model("gpt2_a") + " --prompt-tokens 60 --gen-tokens 10"),
                              "exceeds the model's 64 positions");
  test::expect_one_line_error(test::run_example("qkv-bench", model("gpt2_a") + " --frobnicate"), "unknown option --frobnicate");
}

}  // namespace
}  // namespace qkv
