#pragma once
// Runs one of qkv's example programs and captures what it printed, for tests of the command-line
// contracts (exit codes, one-line errors, output formats).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include "support/reference.hpp"

namespace qkv::test {

struct ProgramResult {
  int exit_code = -1;
  std::string out, err;
};

inline std::string example_path(const std::string& name) { return std::string(QKV_BINARY_DIR) + "/examples/" + name; }

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `program args` (args already shell-quoted as needed) from the source tree root.
inline ProgramResult run_example(const std::string& program, const std::string& args) {
  // ctest runs test cases in parallel processes: name the capture files after this test case.
  static int calls = 0;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string base = ::testing::TempDir() + "/qkv_run_" + program + "_" + info->test_suite_name() + "_" +
                           info->name() + "_" + std::to_string(calls++);
  const std::string command = "cd " + std::string(QKV_TEST_DATA) + "/../.. && " + example_path(program) + " " + args +
                              " > " + base + ".out 2> " + base + ".err";
  const int status = std::system(command.c_str());
  ProgramResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(base + ".out");
  r.err = read_file(base + ".err");
  return r;
}

// The contract for failures: non-zero exit, exactly one line on stderr, nothing on stdout.
inline void expect_one_line_error(const ProgramResult& r, const std::string& fragment) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

}  // namespace qkv::test
