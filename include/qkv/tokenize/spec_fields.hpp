#pragma once
// Typed access to the fields of a tokenizer.json component ("normalizer", "pre_tokenizer", ...),
// with errors naming the component and the field.
#include <string>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"

namespace qkv::tokenize::spec {

inline const nlohmann::json& field(const nlohmann::json& spec, const char* key, const std::string& where) {
  if (!spec.is_object()) fail(where, ": expected a JSON object");
  const auto it = spec.find(key);
  if (it == spec.end()) fail(where, ": missing field '", key, "'");
  return *it;
}

inline std::string type(const nlohmann::json& spec, const std::string& where) {
  const auto& t = field(spec, "type", where);
  if (!t.is_string()) fail(where, ": field 'type' must be a string");
  return t.get<std::string>();
}

inline std::string string_field(const nlohmann::json& spec, const char* key, const std::string& where) {
  const auto& v = field(spec, key, where);
  if (!v.is_string()) fail(where, ": field '", key, "' must be a string");
  return v.get<std::string>();
}

// An optional boolean: absent or null gives `fallback`.
inline bool bool_field(const nlohmann::json& spec, const char* key, const std::string& where, bool fallback) {
  if (!spec.is_object()) fail(where, ": expected a JSON object");
  const auto it = spec.find(key);
  if (it == spec.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(where, ": field '", key, "' must be true or false");
  return it->get<bool>();
}

inline const nlohmann::json& array_field(const nlohmann::json& spec, const char* key, const std::string& where) {
  const auto& v = field(spec, key, where);
  if (!v.is_array()) fail(where, ": field '", key, "' must be an array");
  return v;
}

}  // namespace qkv::tokenize::spec
