#pragma once
// Typed reads of the fields of tokenizer.json components (normalizer, pre-tokenizer, model, added
// tokens, post-processor, decoder). `where` names the file and the object ("tokenizer.json: model"), so errors point at
// the offending field.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"

namespace qkv::tokenize::fields {

inline bool present(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && !j.at(key).is_null();
}

inline const nlohmann::json& required(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!present(j, key)) fail(where, ": missing field '", key, "'");
  return j.at(key);
}

inline std::string string_of(const nlohmann::json& v, const std::string& where, const char* key) {
  if (!v.is_string()) fail(where, ": field '", key, "' must be a string");
  return v.get<std::string>();
}

inline std::string string_field(const nlohmann::json& j, const char* key, const std::string& where) {
  return string_of(required(j, key, where), where, key);
}

inline std::string string_or(const nlohmann::json& j, const char* key, const std::string& fallback,
                             const std::string& where) {
  return present(j, key) ? string_of(j.at(key), where, key) : fallback;
}

inline bool bool_or(const nlohmann::json& j, const char* key, bool fallback, const std::string& where) {
  if (!present(j, key)) return fallback;
  if (!j.at(key).is_boolean()) fail(where, ": field '", key, "' must be true or false");
  return j.at(key).get<bool>();
}

inline const nlohmann::json& array_field(const nlohmann::json& j, const char* key, const std::string& where) {
  const auto& v = required(j, key, where);
  if (!v.is_array()) fail(where, ": field '", key, "' must be an array");
  return v;
}

// Token ids and counts: non-negative integers that fit an int.
inline int index_of(const nlohmann::json& v, const std::string& where, const char* key) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > INT32_MAX)
    fail(where, ": field '", key, "' must be a non-negative integer below 2^31");
  return static_cast<int>(v.get<std::int64_t>());
}

inline int index_field(const nlohmann::json& j, const char* key, const std::string& where) {
  return index_of(required(j, key, where), where, key);
}

inline const std::string& type_of(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail(where, ": expected a JSON object");
  const auto& type = required(j, "type", where);
  if (!type.is_string()) fail(where, ": field 'type' must be a string");
  return type.get_ref<const std::string&>();
}

// One Unicode scalar encoded as UTF-8 (Metaspace replacement, Strip content): Rust `char` fields.
inline std::string char_field(const nlohmann::json& j, const char* key, const std::string& fallback,
                              const std::string& where) {
  std::string s = string_or(j, key, fallback, where);
  auto lead = s.empty() ? 0u : static_cast<unsigned char>(s[0]);
  std::size_t want = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  if (s.empty() || s.size() != want) fail(where, ": field '", key, "' must be a single character");
  return s;
}

}  // namespace qkv::tokenize::fields
