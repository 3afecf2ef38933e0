#pragma once
// qkv::load(dir): reads a Hugging Face model folder (config.json + model.safetensors), recognises
// the architecture from config.json's "model_type" and returns the matching model type.
#include <functional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "qkv/io/json_config.hpp"
#include "qkv/models/decoder_model.hpp"
#include "qkv/models/encoder_decoder_model.hpp"
#include "qkv/models/encoder_model.hpp"
#include "qkv/models/hf/bert.hpp"
#include "qkv/models/hf/gpt2.hpp"
#include "qkv/models/hf/llama.hpp"
#include "qkv/models/hf/bart.hpp"
#include "qkv/models/hf/marian.hpp"
#include "qkv/models/hf/t5.hpp"
#include "qkv/models/pack.hpp"

namespace qkv {

using Model = std::variant<EncoderModel, DecoderModel, EncoderDecoderModel>;

namespace hf {

using Loader = std::function<Model(const std::string& dir, const io::JsonConfig& config)>;

// model_type -> loader. Each architecture header adds its entry here.
inline const std::vector<std::pair<std::string, Loader>>& loaders() {
  static const std::vector<std::pair<std::string, Loader>> table = {
      {"bert", load_bert},
      {"gpt2", load_gpt2},
      {"llama", load_llama},
      {"t5", load_t5},
      {"bart", load_bart},
      {"marian", load_marian},
  };
  return table;
}

}  // namespace hf

inline Model load(const std::string& dir) {
  const io::JsonConfig config = io::JsonConfig::load(dir + "/config.json");
  const std::string type = config.string("model_type");
  std::string supported;
  for (const auto& [name, loader] : hf::loaders()) {
    if (name == type) {
      Model model = loader(dir, config);
      std::visit([](auto& m) { m.pack_weights(); }, model);
      return model;
    }
    supported += (supported.empty() ? "" : ", ") + name;
  }
  fail(config.path(), ": unsupported model_type '", type, "' (supported: ", supported, ")");
}

}  // namespace qkv
