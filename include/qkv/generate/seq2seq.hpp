#pragma once
// Greedy generation for encoder-decoder models, as transformers v4.37 GenerationMixin._greedy_search
// runs it: the source is encoded once, the decoder starts from decoder_start_token_id, each step
// appends the argmax of the last position's logits; a row that produced an EOS id is finished and
// gets pad ids from then on (its logits are still computed, as HF does), and the loop stops when
// every row is finished or after max_new_tokens steps.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "qkv/core/error.hpp"
#include "qkv/core/tensor.hpp"
#include "qkv/generate/constraints.hpp"
#include "qkv/models/encoder_decoder_model.hpp"
#include "qkv/models/generation_config.hpp"

namespace qkv {

// Called with (row, id) for every new id of an unfinished row, the EOS id included; returning
// false stops the generation after the current step.
using TokenCallback = std::function<bool(std::int64_t row, std::int64_t id)>;

struct GreedyOptions {
  std::int64_t max_new_tokens = 20;
  bool output_scores = false;  // keep every step's logits (HF's output_scores)
};

struct GenerationOutput {
  Tensor<std::int64_t> sequences;     // [B, 1 + steps]: decoder start, then the new ids (pad after EOS)
  std::vector<Tensor<float>> scores;  // per step [B, vocab], when asked for (no processors: raw logits)
};

// The ids a row generated: from column `prompt_length` of sequences [B, L] up to and including the
// first EOS, or to the end when the row never produced one.
inline std::vector<std::int64_t> generated_ids(const Tensor<std::int64_t>& sequences, std::int64_t row,
                                               std::int64_t prompt_length, const GenerationConfig& config) {
  std::vector<std::int64_t> ids;
  for (std::int64_t t = prompt_length; t < sequences.dim(1); ++t) {
    ids.push_back(sequences(row, t));
    if (config.is_eos(ids.back())) break;
  }
  return ids;
}

namespace detail {

inline void check_generation_inputs(TensorView<const std::int64_t> ids, const GenerationConfig& config,
                                    std::int64_t max_new_tokens) {
  check_ids(ids, "input_ids");
  if (max_new_tokens < 0) fail("max_new_tokens must be >= 0, got ", max_new_tokens);
  if (!config.eos_token_ids.empty() && config.pad_token_id < 0)
    fail("generation needs a pad_token_id to fill finished rows (the generation config has an EOS id but no pad id)");
}

inline std::int64_t decoder_start_of(const GenerationConfig& config) {
  if (config.decoder_start_token_id >= 0) return config.decoder_start_token_id;
  if (config.bos_token_id >= 0) return config.bos_token_id;  // HF _get_decoder_start_token_id's fallback
  fail("encoder-decoder generation needs decoder_start_token_id (or bos_token_id) in the generation config");
}

}  // namespace detail

// Greedy decoding of sources ids [B, Ls] (right-padded, attention_mask [B, Ls] or empty).
inline GenerationOutput generate_greedy(const EncoderDecoderModel& model, TensorView<const std::int64_t> ids,
                                        TensorView<const std::int64_t> attention_mask, const GenerationConfig& config,
                                        const GreedyOptions& options = {}, const TokenCallback& on_token = {}) {
  detail::check_generation_inputs(ids, config, options.max_new_tokens);
  const std::int64_t batch = ids.dim(0), start = detail::decoder_start_of(config);
  Seq2SeqState state = model.start(ids, attention_mask, 1 + options.max_new_tokens);
  std::vector<std::vector<std::int64_t>> rows(std::size_t(batch), std::vector<std::int64_t>{start});
  std::vector<bool> finished(std::size_t(batch), false);
  GenerationOutput out;
  Tensor<std::int64_t> next({batch, 1}, start);
  const TokenConstraints constraints = TokenConstraints::from(config);
  bool stop = false;
  for (std::int64_t step = 0; step < options.max_new_tokens && !stop; ++step) {
    Tensor<float> logits = model.step(state, next);
    const std::int64_t vocab = logits.dim(1);
    bool all_finished = true;
    for (std::int64_t b = 0; b < batch; ++b) {
      std::int64_t id = config.pad_token_id;
      if (!finished[std::size_t(b)]) {
        float* row = logits.data() + b * vocab;
        if (constraints.active()) constraints.apply(row, vocab, rows[std::size_t(b)], 1 + options.max_new_tokens);
        id = std::int64_t(std::max_element(row, row + vocab) - row);  // first maximum, as torch.argmax
        finished[std::size_t(b)] = config.is_eos(id);
        if (on_token && !on_token(b, id)) stop = true;
      }
      rows[std::size_t(b)].push_back(id);
      next(b, 0) = id;
      all_finished = all_finished && finished[std::size_t(b)];
    }
    if (options.output_scores) out.scores.push_back(std::move(logits));
    if (all_finished) break;
  }
  out.sequences = Tensor<std::int64_t>({batch, std::int64_t(rows[0].size())});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t t = 0; t < out.sequences.dim(1); ++t) out.sequences(b, t) = rows[std::size_t(b)][std::size_t(t)];
  return out;
}

}  // namespace qkv
