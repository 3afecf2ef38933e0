#pragma once
// The special ids generation needs, as transformers resolves them: generation_config.json when
// the folder has one, else config.json. Missing pad falls back to the (first) EOS id, as HF's
// generate does for open-ended decoders.
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "qkv/io/json_config.hpp"

namespace qkv {

struct GenerationConfig {
  std::vector<std::int64_t> eos_token_ids;  // generation stops at any of these; may be empty
  std::int64_t pad_token_id = -1;           // fills finished rows and left padding; -1 = none
  std::int64_t bos_token_id = -1;
  std::int64_t decoder_start_token_id = -1;  // encoder-decoder models: the first decoder token
  // Constraints real checkpoints set (opus-mt: bad_words_ids [[pad]]; BART/mBART: forced ids).
  std::vector<std::vector<std::int64_t>> bad_words_ids;  // each sequence may never be completed
  std::int64_t forced_bos_token_id = -1;  // the first generated id, when set
  std::int64_t forced_eos_token_id = -1;  // the last id when max length is reached, when set

  static GenerationConfig load(const std::string& dir) {
    const io::JsonConfig model = io::JsonConfig::load(dir + "/config.json");
    const std::string path = dir + "/generation_config.json";
    const io::JsonConfig gen = std::ifstream(path).good() ? io::JsonConfig::load(path) : model;
    auto id = [&](const std::string& key) { return gen.integer_or(key, model.integer_or(key, -1)); };
    GenerationConfig c;
    c.eos_token_ids = gen.has("eos_token_id") ? gen.integers_or_empty("eos_token_id") : model.integers_or_empty("eos_token_id");
    c.bos_token_id = id("bos_token_id");
    c.decoder_start_token_id = id("decoder_start_token_id");
    c.pad_token_id = id("pad_token_id");
    if (c.pad_token_id < 0 && !c.eos_token_ids.empty()) c.pad_token_id = c.eos_token_ids.front();
    c.forced_bos_token_id = id("forced_bos_token_id");
    c.forced_eos_token_id = id("forced_eos_token_id");
    const io::JsonConfig& source = gen.has("bad_words_ids") ? gen : model;
    if (source.has("bad_words_ids")) {
      const auto& list = source.json().at("bad_words_ids");
      auto bad = [&] { fail(source.path(), ": \"bad_words_ids\" must be a list of non-empty lists of ids, got ", list.dump()); };
      if (!list.is_array()) bad();
      for (const auto& words : list) {
        if (!words.is_array() || words.empty()) bad();
        std::vector<std::int64_t> ids;
        for (const auto& w : words) {
          if (!w.is_number_integer()) bad();
          ids.push_back(w.get<std::int64_t>());
        }
        c.bad_words_ids.push_back(std::move(ids));
      }
    }
    return c;
  }

  bool is_eos(std::int64_t id) const {
    for (std::int64_t e : eos_token_ids)
      if (e == id) return true;
    return false;
  }
};

}  // namespace qkv
