#pragma once
// config.json / generation_config.json: typed access to fields, with errors that name the file,
// the field, and what was expected.
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"

namespace qkv::io {

class JsonConfig {
 public:
  JsonConfig() = default;
  JsonConfig(nlohmann::json json, std::string path) : json_(std::move(json)), path_(std::move(path)) {
    if (!json_.is_object()) fail(path_, ": expected a JSON object");
  }

  static JsonConfig load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot open ", path);
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) fail(path, ": not valid JSON");
    return JsonConfig(std::move(json), path);
  }

  const std::string& path() const { return path_; }
  const nlohmann::json& json() const { return json_; }
  // Present and not null (HF writes null for "unset").
  bool has(const std::string& key) const { return json_.contains(key) && !json_.at(key).is_null(); }

  std::int64_t integer(const std::string& key) const { return integer_or(key, required<std::int64_t>(key)); }
  std::int64_t integer_or(const std::string& key, std::int64_t fallback) const {
    if (!has(key)) return fallback;
    const auto& v = json_.at(key);
    if (!v.is_number_integer()) type_error(key, "an integer", v);
    return v.get<std::int64_t>();
  }
  // A size-like integer: must be > 0 (or >= 0 when zero_ok).
  std::int64_t count(const std::string& key, bool zero_ok = false) const {
    const std::int64_t v = integer(key);
    if (v < 0 || (v == 0 && !zero_ok)) fail(path_, ": \"", key, "\" must be ", zero_ok ? ">= 0" : "> 0", ", got ", v);
    return v;
  }
  std::int64_t count_or(const std::string& key, std::int64_t fallback, bool zero_ok = false) const {
    return has(key) ? count(key, zero_ok) : fallback;
  }

  double number(const std::string& key) const { return number_or(key, required<double>(key)); }
  double number_or(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    const auto& v = json_.at(key);
    if (!v.is_number()) type_error(key, "a number", v);
    return v.get<double>();
  }

  bool boolean_or(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const auto& v = json_.at(key);
    if (!v.is_boolean()) type_error(key, "true or false", v);
    return v.get<bool>();
  }

  std::string string(const std::string& key) const { return string_or(key, required<std::string>(key)); }
  std::string string_or(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const auto& v = json_.at(key);
    if (!v.is_string()) type_error(key, "a string", v);
    return v.get<std::string>();
  }

  // An integer or a list of integers (eos_token_id may be either); empty when absent.
  std::vector<std::int64_t> integers_or_empty(const std::string& key) const {
    if (!has(key)) return {};
    const auto& v = json_.at(key);
    if (v.is_number_integer()) return {v.get<std::int64_t>()};
    if (!v.is_array()) type_error(key, "an integer or a list of integers", v);
    std::vector<std::int64_t> out;
    for (const auto& e : v) {
      if (!e.is_number_integer()) type_error(key, "a list of integers", v);
      out.push_back(e.get<std::int64_t>());
    }
    return out;
  }

  // A nested object (e.g. rope_scaling), or nullopt when absent/null.
  std::optional<JsonConfig> object_or_none(const std::string& key) const {
    if (!has(key)) return std::nullopt;
    if (!json_.at(key).is_object()) type_error(key, "an object", json_.at(key));
    return JsonConfig(json_.at(key), path_ + " \"" + key + "\"");
  }

 private:
  template <class T>
  T required(const std::string& key) const {
    if (!has(key)) fail(path_, ": missing required field \"", key, "\"");
    return T{};
  }
  [[noreturn]] void type_error(const std::string& key, const char* expected, const nlohmann::json& v) const {
    fail(path_, ": \"", key, "\" must be ", expected, ", got ", v.dump());
  }

  nlohmann::json json_ = nlohmann::json::object();
  std::string path_;
};

}  // namespace qkv::io
