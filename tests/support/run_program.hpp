#pragma once
// Runs one of qkv's example programs and captures what it printed, for tests of the command-line
// contracts (exit codes, one-line errors, output formats).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
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

// Runs `program args` (args already shell-quoted as needed) from the source tree root, with
// `input` as its stdin.
inline ProgramResult run_example(const std::string& program, const std::string& args, const std::string& input = "") {
  const TempDir dir;  // unique per call: ctest runs test cases in parallel processes
  const std::string in = dir.path() + "/in", out = dir.path() + "/out", err = dir.path() + "/err";
  std::ofstream(in, std::ios::binary) << input;
  const std::string command = "cd '" + std::string(QKV_TEST_DATA) + "/../..' && '" + example_path(program) + "' " + args +
                              " < '" + in + "' > '" + out + "' 2> '" + err + "'";
  const int status = std::system(command.c_str());
  ProgramResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

// A program's output as lines (the last newline ends the last line).
inline std::vector<std::string> output_lines(const std::string& text) {
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return lines;
}

// The contract for failures: non-zero exit, nothing on stdout, exactly one line on stderr that
// mentions `fragment`. `what` names the case in failure messages.
inline void expect_one_line_error(const ProgramResult& r, const std::string& fragment, const std::string& what = "") {
  EXPECT_NE(r.exit_code, 0) << what;
  EXPECT_EQ(r.out, "") << what;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << ": " << r.err;
  EXPECT_TRUE(!r.err.empty() && r.err.back() == '\n') << what << ": " << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << what << ": stderr '" << r.err << "' does not say '" << fragment << "'";
}

}  // namespace qkv::test
