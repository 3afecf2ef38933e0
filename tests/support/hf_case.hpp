#pragma once
// Helpers for the Hugging Face reference cases under tests/data/hf/<case> (config.json,
// model.safetensors, inputs.safetensors, expected.safetensors; meta.json describes each tensor),
// and for writing modified copies of a case to a temporary folder.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "qkv/io/safetensors.hpp"
#include "qkv/models/generation_config.hpp"
#include "support/reference.hpp"

namespace qkv::test {

// A reference case of tests/data/hf: its folder, inputs, transformers' outputs, generation ids,
// and the tolerance the issue sets for it (T5 is worse conditioned: 1e-4).
struct HfCase {
  std::string name, dir;
  io::SafetensorsFile inputs, expected;
  GenerationConfig config;
  double rtol;
  explicit HfCase(const std::string& case_name)
      : name(case_name),
        dir(data_path("hf/" + case_name)),
        inputs(io::SafetensorsFile::open(dir + "/inputs.safetensors")),
        expected(io::SafetensorsFile::open(dir + "/expected.safetensors")),
        config(GenerationConfig::load(dir)),
        rtol(case_name == "t5_a" ? 1e-4 : 1e-5) {}
};
// The key padding [B, L] (1 = pad) of an attention_mask [B, L] (1 = token).
inline Tensor<std::uint8_t> padding_from_mask(const Tensor<std::int64_t>& mask) {
  Tensor<std::uint8_t> p(mask.shape());
  for (std::int64_t i = 0; i < mask.numel(); ++i) p.data()[i] = mask.data()[i] == 0;
  return p;
}

// got[i] against ref[i] for a stacked reference [n, B, L, ...] (HF's hidden_states, attentions).
inline void expect_stack_close(const std::vector<Tensor<float>>& got, const Tensor<float>& ref, double rtol,
                               const std::string& what, const std::function<bool(std::int64_t)>& valid) {
  ASSERT_EQ(std::int64_t(got.size()), ref.dim(0)) << what;
  for (std::size_t i = 0; i < got.size(); ++i)
    expect_close(got[i], ref.view().select(std::int64_t(i)), rtol, what + "[" + std::to_string(i) + "]", valid);
}

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

inline void write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path);
  out << j.dump(2);
}

// Token ids (generated sequences) must match exactly.
inline void expect_ids_equal(const Tensor<std::int64_t>& got, const Tensor<std::int64_t>& ref, const std::string& what) {
  ASSERT_EQ(got.shape(), ref.shape()) << what;
  for (std::int64_t i = 0; i < got.numel(); ++i) EXPECT_EQ(got.data()[i], ref.data()[i]) << what << " at flat index " << i;
}

// Tensors by name, widened to float32, for building modified checkpoints.
using NamedTensors = std::map<std::string, Tensor<float>>;

inline NamedTensors read_tensors(const std::string& path) {
  const auto file = io::SafetensorsFile::open(path);
  NamedTensors out;
  for (const std::string& name : file.names()) out.emplace(name, file.to_float(name));
  return out;
}

// Writes a case folder: config.json (the case's, with `edit` applied) and model.safetensors from
// `tensors` (+ optional I64 tensors).
inline void write_case(const std::string& dir, const std::string& case_name,
                       const std::function<void(nlohmann::json&)>& edit, const NamedTensors& tensors, const std::map<std::string, Tensor<std::int64_t>>& ints = {}) {
  nlohmann::json config = read_json(data_path("hf/" + case_name + "/config.json"));
  if (edit) edit(config);
  write_json(dir + "/config.json", config);
  std::vector<std::pair<std::string, TensorView<const float>>> floats;
  for (const auto& [name, t] : tensors) floats.emplace_back(name, t.view());
  std::vector<std::pair<std::string, TensorView<const std::int64_t>>> int_views;
  for (const auto& [name, t] : ints) int_views.emplace_back(name, t.view());
  io::write_safetensors(dir + "/model.safetensors", floats, int_views, {{"format", "pt"}});
}

// Deterministic pseudo-random values in [-scale, scale) (a tiny LCG: tests must not depend on <random>'s
// implementation-defined distributions).
inline Tensor<float> pseudo_random(Shape shape, std::uint32_t seed, float scale) {
  Tensor<float> t(shape);
  std::uint32_t s = seed * 2654435761u + 1;
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    s = s * 1664525u + 1013904223u;
    t.data()[i] = scale * (float(s >> 8) / float(1u << 24) * 2.0f - 1.0f);
  }
  return t;
}

}  // namespace qkv::test
