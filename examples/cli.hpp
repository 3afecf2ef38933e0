#pragma once
// What every qkv example program shares: option parsing, the common flags (--threads, --isa,
// --verbose, --help), and the error policy: any failure is one line on stderr and exit code 1.
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "qkv/core/error.hpp"
#include "qkv/core/thread_pool.hpp"
#include "qkv/kernels/dispatch.hpp"

namespace qkv::cli {

class Args {
 public:
  // value_options take a value (--model DIR); flags do not (--greedy).
  Args(int argc, char** argv, const std::vector<std::string>& value_options, const std::vector<std::string>& flags) {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a.rfind("--", 0) != 0 || a == "--") {
        positional_.push_back(a);
        continue;
      }
      const std::string name = a.substr(2);
      if (contains(flags, name) || name == "verbose" || name == "help") {
        flags_[name] = true;
      } else if (contains(value_options, name) || name == "threads" || name == "isa") {
        if (i + 1 >= argc) fail("option --", name, " needs a value");
        values_[name] = argv[++i];
      } else {
        fail("unknown option --", name, " (see --help)");
      }
    }
  }

  bool flag(const std::string& name) const { return flags_.count(name) != 0; }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string value(const std::string& name) const {
    if (!has(name)) fail("missing required option --", name);
    return values_.at(name);
  }
  std::string value_or(const std::string& name, const std::string& fallback) const {
    return has(name) ? values_.at(name) : fallback;
  }
  std::int64_t integer_or(const std::string& name, std::int64_t fallback) const {
    if (!has(name)) return fallback;
    return parse_integer(values_.at(name), "--" + name);
  }
  double number_or(const std::string& name, double fallback) const {
    if (!has(name)) return fallback;
    const std::string& s = values_.at(name);
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0') fail("--", name, " expects a number, got '", s, "'");
    return v;
  }
  const std::vector<std::string>& positional() const { return positional_; }

  static std::int64_t parse_integer(const std::string& s, const std::string& what) {
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0') fail(what, " expects an integer, got '", s, "'");
    return v;
  }

 private:
  static bool contains(const std::vector<std::string>& list, const std::string& name) {
    for (const auto& s : list)
      if (s == name) return true;
    return false;
  }
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> flags_;
  std::vector<std::string> positional_;
};

// "1,2,3" -> {1, 2, 3}
inline std::vector<std::int64_t> parse_ids(const std::string& text) {
  std::vector<std::int64_t> ids;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    ids.push_back(Args::parse_integer(part, "--ids"));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return ids;
}

// Runs body(args) with the common flags applied. Returns the process exit code.
inline int run(int argc, char** argv, const std::string& usage, const std::vector<std::string>& value_options,
               const std::vector<std::string>& flags, const std::function<int(const Args&)>& body) {
  const std::string program = argc > 0 ? std::string(argv[0]).substr(std::string(argv[0]).find_last_of('/') + 1) : "qkv";
  try {
    const Args args(argc, argv, value_options, flags);
    if (args.flag("help")) {
      std::cout << "usage: " << program << " " << usage
                << "\ncommon options: --threads N  --isa generic|avx2|avx512  --verbose  --help\n";
      return 0;
    }
    if (args.has("isa")) set_isa(args.value("isa"));
    const Isa isa = active_isa();  // resolves QKV_ISA now, so a bad value fails before any output
    if (args.has("threads")) {  // default: the default pool's std::thread::hardware_concurrency()
      const std::int64_t threads = args.integer_or("threads", 0);
      if (threads < 1 || threads > 4096) fail("--threads must be between 1 and 4096, got ", threads);
      set_num_threads(int(threads));
    }
    if (args.flag("verbose")) std::cerr << program << ": isa " << isa_name(isa) << ", threads " << num_threads() << "\n";
    return body(args);
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace qkv::cli
