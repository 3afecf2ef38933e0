#pragma once
// Text generation with a decoder-only model, following transformers' GenerationMixin.generate
// (v4.37, `_greedy_search` / `_sample`): prompts are batched with LEFT padding, the prompts are
// prefilled in one step, then one token per step reuses the KV cache. A row that produces an
// end id is finished; it is then fed pad tokens (HF: `next_tokens * unfinished + pad * (1 -
// unfinished)`) until every row is finished or max_new_tokens is reached.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "qkv/core/error.hpp"
#include "qkv/core/tensor.hpp"
#include "qkv/generate/constraints.hpp"
#include "qkv/generate/sampler.hpp"
#include "qkv/models/decoder_model.hpp"
#include "qkv/models/generation_config.hpp"

namespace qkv {

struct GenerateOptions {
  std::int64_t max_new_tokens = 20;         // >= 0
  SamplingOptions sampling;                 // sampling.greedy = argmax
  std::vector<std::int64_t> eos_token_ids;  // a row is finished after producing one of these (HF eos_token_id)
  std::vector<std::int64_t> stop_ids;       // more ids that finish a row, e.g. an end-of-turn token
  std::int64_t pad_token_id = -1;           // fed to finished rows and used as left padding; -1 = none (0 is fed)
  bool output_logits = false;               // keep every step's last-position logits (GenerateResult::logits)
  TokenConstraints constraints;             // bad words, forced first/last ids

  // The EOS and pad ids and the constraints of the model's generation_config.json / config.json.
  static GenerateOptions from(const GenerationConfig& config) {
    GenerateOptions o;
    o.eos_token_ids = config.eos_token_ids;
    o.pad_token_id = config.pad_token_id;
    o.constraints = TokenConstraints::from(config);
    return o;
  }

  bool stops_at(std::int64_t id) const {
    return std::find(eos_token_ids.begin(), eos_token_ids.end(), id) != eos_token_ids.end() ||
           std::find(stop_ids.begin(), stop_ids.end(), id) != stop_ids.end();
  }
};

struct GenerateResult {
  // Per prompt, the new ids only (no prompt, no pad filling), ending with the end id when one
  // was produced: exactly the tokens passed to the stream callback.
  std::vector<std::vector<std::int64_t>> ids;
  // [steps, B, vocab] when options.output_logits: the raw last-position logits of every step,
  // finished rows included (they were fed pads, as in HF). These equal HF's `scores` when no
  // logits processor is active (greedy, repetition_penalty 1).
  Tensor<float> logits;
};

// Called once per new token of each unfinished row, in row order within a step. Return true to
// go on; false stops everything at once: the token just passed is kept, and no other token is
// produced (not even for the remaining rows of that step).
using TokenCallback = std::function<bool(std::int64_t row, std::int64_t id)>;

namespace detail {

inline void check_generate_request(const DecoderModel& model, const std::vector<std::vector<std::int64_t>>& prompts,
                                   const GenerateOptions& o) {
  if (prompts.empty()) fail("generate: no prompts");
  if (o.max_new_tokens < 0) fail("generate: max_new_tokens must be >= 0, got ", o.max_new_tokens);
  o.sampling.validate();
  const std::int64_t vocab = model.input.tokens.vocab_size();
  std::size_t longest = 0;
  for (std::size_t b = 0; b < prompts.size(); ++b) {
    if (prompts[b].empty()) fail("generate: prompt ", b, " is empty (it needs at least one token)");
    for (std::size_t t = 0; t < prompts[b].size(); ++t)
      if (prompts[b][t] < 0 || prompts[b][t] >= vocab)
        fail("generate: prompt ", b, " token ", t, " is id ", prompts[b][t], ", outside the vocabulary [0, ", vocab, ")");
    longest = std::max(longest, prompts[b].size());
  }
  if (o.pad_token_id >= vocab) fail("generate: pad_token_id ", o.pad_token_id, " is outside the vocabulary [0, ", vocab, ")");
  // A learned position table (GPT-2's wpe) bounds the sequence; rotary models (LLaMA) have none.
  const std::int64_t table = model.input.positions.max_positions();
  if (table > 0 && std::int64_t(longest) + o.max_new_tokens > table)
    fail("generate: the longest prompt (", longest, " tokens) + max_new_tokens (", o.max_new_tokens,
         ") exceeds the model's ", table, " positions");
}

struct PaddedPrompts {
  Tensor<std::int64_t> ids, mask, positions;  // [B, longest prompt]
};

// Left padding, with the position ids of HF's prepare_inputs_for_generation (GPT-2, LLaMA):
// cumsum(attention_mask) - 1, and 1 at pads.
inline PaddedPrompts left_pad(const std::vector<std::vector<std::int64_t>>& prompts, std::int64_t pad) {
  const std::int64_t batch = std::int64_t(prompts.size());
  std::int64_t length = 0;
  for (const auto& p : prompts) length = std::max(length, std::int64_t(p.size()));
  PaddedPrompts out{Tensor<std::int64_t>({batch, length}, pad), Tensor<std::int64_t>({batch, length}, 0),
                    Tensor<std::int64_t>({batch, length}, 1)};
  for (std::int64_t b = 0; b < batch; ++b) {
    const auto& p = prompts[std::size_t(b)];
    const std::int64_t start = length - std::int64_t(p.size());
    for (std::int64_t t = 0; t < std::int64_t(p.size()); ++t) {
      out.ids(b, start + t) = p[std::size_t(t)];
      out.mask(b, start + t) = 1;
      out.positions(b, start + t) = t;
    }
  }
  return out;
}

}  // namespace detail

// Continues each prompt (token ids, unpadded) by up to options.max_new_tokens tokens. Greedy
// results equal HF's. Two deliberate differences from HF, both so that a row's result does not
// depend on the rest of its batch: the repetition penalty sees the row's prompt and generated ids
// but not its padding (HF's processor sees the padded input_ids), and every row samples with its
// own generator seeded with sampling.seed (HF draws the batch from one torch generator, whose
// numbers qkv does not reproduce anyway). The model is only read; all state lives in this call.
inline GenerateResult generate(const DecoderModel& model, const std::vector<std::vector<std::int64_t>>& prompts,
                               const GenerateOptions& options, const TokenCallback& on_token = {}) {
  detail::check_generate_request(model, prompts, options);
  const std::int64_t batch = std::int64_t(prompts.size()), vocab = model.lm_head.vocab_size();
  const std::int64_t pad = std::max<std::int64_t>(options.pad_token_id, 0);
  const detail::PaddedPrompts in = detail::left_pad(prompts, pad);

  GenerateResult result;
  result.ids.resize(std::size_t(batch));
  std::vector<float> kept_logits;
  if (options.max_new_tokens > 0) {
    // One sampler per row, all with the same seed: a row's tokens do not depend on the other rows.
    std::vector<Sampler> samplers(std::size_t(batch), Sampler(options.sampling));
    std::vector<std::vector<std::int64_t>> history = prompts;  // what the repetition penalty sees (no pads)
    std::vector<bool> finished(std::size_t(batch), false);
    DecoderState state = model.start(batch, in.ids.dim(1) + options.max_new_tokens);
    Tensor<float> logits = model.step(state, in.ids, in.mask, in.positions);  // prefill
    Tensor<std::int64_t> next({batch, 1}), next_mask({batch, 1}, 1), next_positions({batch, 1});
    for (std::int64_t step = 0;; ++step) {
      if (options.output_logits) kept_logits.insert(kept_logits.end(), logits.data(), logits.data() + logits.numel());
      bool stop = false;
      for (std::int64_t b = 0; b < batch && !stop; ++b) {
        const std::size_t row = std::size_t(b);
        if (finished[row]) {
          next(b, 0) = pad;
          continue;
        }
        float* scores = logits.data() + b * vocab;
        if (options.constraints.active())  // before the sampler's warpers, as in HF
          options.constraints.apply(scores, vocab, history[row], std::int64_t(prompts[row].size()) + options.max_new_tokens);
        const std::int64_t id = samplers[row].next(scores, vocab, history[row]);
        next(b, 0) = id;
        history[row].push_back(id);
        result.ids[row].push_back(id);
        finished[row] = options.stops_at(id);
        if (on_token && !on_token(b, id)) stop = true;
      }
      const bool all_finished = std::all_of(finished.begin(), finished.end(), [](bool f) { return f; });
      if (stop || all_finished || step + 1 == options.max_new_tokens) break;
      // The new token of every row (a pad for finished ones) is attended, as HF extends the mask
      // with ones; its position continues the row's count of real tokens.
      for (std::int64_t b = 0; b < batch; ++b)
        next_positions(b, 0) = std::int64_t(prompts[std::size_t(b)].size()) + step;
      logits = model.step(state, next, next_mask, next_positions);
    }
  }
  if (options.output_logits) {
    const std::int64_t steps = std::int64_t(kept_logits.size()) / (batch * vocab);
    result.logits = Tensor<float>({steps, batch, vocab});
    std::copy(kept_logits.begin(), kept_logits.end(), result.logits.data());
  }
  return result;
}

}  // namespace qkv
