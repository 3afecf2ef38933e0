#pragma once
// The logits processors a checkpoint's generation settings switch on that restrict which id may
// come next, as transformers applies them: NoBadWordsLogitsProcessor, ForcedBOSLogitsProcessor
// and ForcedEOSLogitsProcessor. Banned ids get -inf.
#include <cstdint>
#include <limits>
#include <vector>

#include "qkv/models/generation_config.hpp"

namespace qkv {

struct TokenConstraints {
  std::vector<std::vector<std::int64_t>> bad_words_ids;
  std::int64_t forced_bos_token_id = -1;
  std::int64_t forced_eos_token_id = -1;

  static TokenConstraints from(const GenerationConfig& config) {
    TokenConstraints c{{}, config.forced_bos_token_id, config.forced_eos_token_id};
    for (const auto& words : config.bad_words_ids)  // HF drops bad "words" that are just an EOS id
      if (!(words.size() == 1 && config.is_eos(words[0]))) c.bad_words_ids.push_back(words);
    return c;
  }

  bool active() const { return !bad_words_ids.empty() || forced_bos_token_id >= 0 || forced_eos_token_id >= 0; }

  // scores [vocab] for the id after `sequence` (every id so far: the prompt or decoder start, then
  // the generated ones); max_length = the sequence length at which generation stops.
  void apply(float* scores, std::int64_t vocab, const std::vector<std::int64_t>& sequence, std::int64_t max_length) const {
    constexpr float kBanned = -std::numeric_limits<float>::infinity();
    const std::int64_t length = std::int64_t(sequence.size());
    for (const auto& words : bad_words_ids) {
      const std::int64_t last = words.back(), prefix = std::int64_t(words.size()) - 1;
      if (last < 0 || last >= vocab || prefix > length) continue;
      if (std::equal(words.begin(), words.end() - 1, sequence.end() - prefix)) scores[last] = kBanned;
    }
    auto force = [&](std::int64_t id) {
      if (id < 0 || id >= vocab) return;
      for (std::int64_t v = 0; v < vocab; ++v) scores[v] = v == id ? 0.0f : kBanned;
    };
    if (length == 1 && forced_bos_token_id >= 0) force(forced_bos_token_id);  // HF: cur_len == 1
    if (length == max_length - 1 && forced_eos_token_id >= 0) force(forced_eos_token_id);
  }
};

}  // namespace qkv
