#pragma once
// Beam search with the semantics of transformers v4.37 (GenerationMixin._beam_search +
// BeamSearchScorer + BeamHypotheses), for encoder-decoder and decoder-only models:
//  * every beam is a batch row; scores are log_softmax of the logits summed along the beam, in
//    float32; at the first step only beam 0 is live (the others start at -1e9);
//  * per input, the best max(2, 1 + #EOS) * num_beams (beam, token) pairs are taken over all
//    beams; a pair ending in EOS becomes a finished hypothesis if it ranks among the first
//    num_beams, the others continue until num_beams beams are filled;
//  * a hypothesis scores sum_logprobs / generated_length^length_penalty, the length counting the
//    EOS but not the prompt / decoder start;
//  * an input is done with num_beams finished hypotheses and (early_stopping False) when the best
//    candidate's sum / current_length^penalty cannot beat the worst kept one (HF is_done);
//  * at max_new_tokens the live beams join the hypotheses; the best one is returned, followed by
//    the first EOS id if it was finished, then pad.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "qkv/core/error.hpp"
#include "qkv/core/tensor.hpp"
#include "qkv/generate/seq2seq.hpp"
#include "qkv/generate/constraints.hpp"
#include "qkv/models/decoder_model.hpp"
#include "qkv/models/encoder_decoder_model.hpp"
#include "qkv/models/generation_config.hpp"

namespace qkv {

// HF's early_stopping: false (a heuristic on the current length), true, or "never".
enum class EarlyStopping { heuristic, on, never };

struct BeamSearchOptions {
  std::int64_t num_beams = 4;
  std::int64_t max_new_tokens = 20;
  double length_penalty = 1.0;
  EarlyStopping early_stopping = EarlyStopping::heuristic;
};

struct BeamSearchOutput {
  // [B, P + n] as HF returns it: the prompt (decoder start, or the left-padded prompt), the best
  // hypothesis, the EOS id if it finished, then pad up to the longest row.
  Tensor<std::int64_t> sequences;
  Tensor<float> sequences_scores;  // [B], the best hypothesis's score
};

namespace detail {

// HF BeamHypotheses: the num_beams best hypotheses of one input (generated ids without the EOS).
struct BeamHypotheses {
  struct Hypothesis {
    double score;
    std::vector<std::int64_t> ids;
  };
  std::int64_t num_beams;
  double length_penalty;
  std::vector<Hypothesis> beams;
  double worst_score = 1e9;

  void add(const std::vector<std::int64_t>& ids, double sum_logprobs, std::int64_t generated_length) {
    const double score = sum_logprobs / std::pow(double(generated_length), length_penalty);
    if (std::int64_t(beams.size()) >= num_beams && !(score > worst_score)) return;
    beams.push_back({score, ids});
    if (std::int64_t(beams.size()) <= num_beams) {
      worst_score = std::min(score, worst_score);
      return;
    }
    // HF sorts (score, index) pairs: drop the lowest (first on ties); the next one is the new worst.
    std::vector<std::size_t> order(beams.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return beams[a].score < beams[b].score; });
    worst_score = beams[order[1]].score;
    beams.erase(beams.begin() + std::ptrdiff_t(order[0]));
  }

  // best_sum_logprobs: the best candidate's summed log-probs this step; length: generated tokens
  // including this step's (HF: cur_len - decoder_prompt_len).
  bool is_done(double best_sum_logprobs, std::int64_t length, std::int64_t max_new_tokens, EarlyStopping mode) const {
    if (std::int64_t(beams.size()) < num_beams) return false;
    if (mode == EarlyStopping::on) return true;
    const std::int64_t denominator = mode == EarlyStopping::never && length_penalty > 0.0 ? max_new_tokens : length;
    return worst_score >= best_sum_logprobs / std::pow(double(denominator), length_penalty);
  }

  // HF finalize: sorted(beams, key=score).pop() -> the last of the best on ties.
  const Hypothesis& best() const {
    std::size_t best = 0;
    for (std::size_t i = 1; i < beams.size(); ++i)
      if (beams[i].score >= beams[best].score) best = i;
    return beams[best];
  }
};

// log_softmax of one row of logits, in float32 like torch's (the sum is kept in double).
inline void log_softmax_row(const float* logits, std::int64_t vocab, float* out) {
  const float max = *std::max_element(logits, logits + vocab);
  double sum = 0.0;
  for (std::int64_t v = 0; v < vocab; ++v) sum += std::exp(double(logits[v]) - double(max));
  const double log_sum = std::log(sum);
  for (std::int64_t v = 0; v < vocab; ++v) out[v] = float(double(logits[v]) - double(max) - log_sum);
}

// The search itself. first_logits [B, V] are the logits after the prompts [B, P] (one row per
// input). advance(rows, ids) must re-pick the model state's rows (the first call maps the B input
// rows onto B * num_beams beam rows; later calls pick among beam rows), run one new id per row and
// return the logits [rows.size(), V].
template <class Advance>
BeamSearchOutput run_beam_search(Tensor<float> first_logits, const Tensor<std::int64_t>& prompts,
                                 const GenerationConfig& config, const BeamSearchOptions& options, Advance&& advance) {
  const std::int64_t batch = first_logits.dim(0), vocab = first_logits.dim(1), beams = options.num_beams;
  const std::int64_t beam_rows = batch * beams, prompt = prompts.dim(1);
  const std::size_t slots = static_cast<std::size_t>(beam_rows);
  const std::int64_t candidates = std::max<std::int64_t>(2, 1 + std::int64_t(config.eos_token_ids.size())) * beams;
  if (candidates > beams * vocab) fail("beam search: ", beams, " beams need a vocabulary of at least ", candidates, " ids");
  std::vector<BeamHypotheses> hypotheses(std::size_t(batch), BeamHypotheses{beams, options.length_penalty, {}});
  std::vector<bool> done(std::size_t(batch), false);
  std::vector<float> beam_scores(slots, 0.0f);
  for (std::int64_t r = 0; r < beam_rows; ++r)
    if (r % beams != 0) beam_scores[std::size_t(r)] = -1e9f;  // HF: only beam 0 is live at first
  std::vector<std::vector<std::int64_t>> beam_ids(slots);  // generated ids per beam
  std::vector<float> scores(std::size_t(beams * vocab));
  std::vector<std::int64_t> order(std::size_t(beams * vocab));
  Tensor<float> logits = std::move(first_logits);
  bool expanded = false;  // do the logits have one row per beam yet?
  const TokenConstraints constraints = TokenConstraints::from(config);  // HF applies them to the log-probs

  for (std::int64_t length = 1;; ++length) {  // length = generated ids once this step's is added
    std::vector<std::int64_t> next_rows(slots), next_ids(slots);
    std::vector<float> next_scores(slots, 0.0f);
    for (std::int64_t b = 0; b < batch; ++b) {
      if (done[std::size_t(b)]) {  // HF pads finished inputs (their beams no longer matter)
        for (std::int64_t j = 0; j < beams; ++j)
          next_rows[std::size_t(b * beams + j)] = b * beams + j, next_ids[std::size_t(b * beams + j)] = config.pad_token_id;
        continue;
      }
      for (std::int64_t j = 0; j < beams; ++j) {
        float* s = scores.data() + j * vocab;
        log_softmax_row(logits.data() + (expanded ? b * beams + j : b) * vocab, vocab, s);
        if (constraints.active()) {
          std::vector<std::int64_t> sequence(prompts.data() + b * prompt, prompts.data() + (b + 1) * prompt);
          const auto& generated = beam_ids[std::size_t(b * beams + j)];
          sequence.insert(sequence.end(), generated.begin(), generated.end());
          constraints.apply(s, vocab, sequence, prompt + options.max_new_tokens);
        }
        for (std::int64_t v = 0; v < vocab; ++v) s[v] += beam_scores[std::size_t(b * beams + j)];
      }
      // torch.topk over beams * vocab, sorted; ties go to the lower flat index.
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + candidates, order.end(), [&](std::int64_t x, std::int64_t y) {
        return scores[std::size_t(x)] > scores[std::size_t(y)] || (scores[std::size_t(x)] == scores[std::size_t(y)] && x < y);
      });
      std::int64_t kept = 0;
      for (std::int64_t rank = 0; rank < candidates && kept < beams; ++rank) {
        const std::int64_t flat = order[std::size_t(rank)], id = flat % vocab, source = b * beams + flat / vocab;
        const float score = scores[std::size_t(flat)];
        if (config.is_eos(id)) {
          if (rank < beams) hypotheses[std::size_t(b)].add(beam_ids[std::size_t(source)], score, length);
          continue;
        }
        const std::size_t r = std::size_t(b * beams + kept++);
        next_rows[r] = source, next_ids[r] = id, next_scores[r] = score;
      }
      done[std::size_t(b)] = hypotheses[std::size_t(b)].is_done(scores[std::size_t(order[0])], length,
                                                                options.max_new_tokens, options.early_stopping);
    }
    std::vector<std::vector<std::int64_t>> picked(slots);
    for (std::int64_t r = 0; r < beam_rows; ++r) {
      picked[std::size_t(r)] = beam_ids[std::size_t(next_rows[std::size_t(r)])];
      picked[std::size_t(r)].push_back(next_ids[std::size_t(r)]);
    }
    beam_ids = std::move(picked);
    beam_scores = next_scores;
    if (length >= options.max_new_tokens || std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
    if (!expanded)  // beam row b * beams + j comes from input row b
      for (auto& r : next_rows) r /= beams;
    logits = advance(next_rows, next_ids);
    expanded = true;
  }

  // HF finalize: unfinished inputs add their live beams; the best hypothesis per input wins.
  const std::int64_t steps = std::int64_t(beam_ids[0].size());
  std::vector<const BeamHypotheses::Hypothesis*> best(static_cast<std::size_t>(batch));
  std::int64_t longest = 0, shortest = steps;
  for (std::int64_t b = 0; b < batch; ++b) {
    auto& h = hypotheses[std::size_t(b)];
    if (!done[std::size_t(b)])
      for (std::int64_t j = 0; j < beams; ++j)
        h.add(beam_ids[std::size_t(b * beams + j)], beam_scores[std::size_t(b * beams + j)], steps);
    best[std::size_t(b)] = &h.best();
    longest = std::max(longest, std::int64_t(best[std::size_t(b)]->ids.size()));
    shortest = std::min(shortest, std::int64_t(best[std::size_t(b)]->ids.size()));
  }
  const std::int64_t width = std::min(longest + 1, options.max_new_tokens);  // room for an EOS
  if (shortest != longest && config.pad_token_id < 0) fail("beam search: rows of different lengths need a pad_token_id");
  BeamSearchOutput out;
  out.sequences = Tensor<std::int64_t>({batch, prompt + width}, config.pad_token_id);
  out.sequences_scores = Tensor<float>({batch});
  for (std::int64_t b = 0; b < batch; ++b) {
    const auto& h = *best[std::size_t(b)];
    for (std::int64_t t = 0; t < prompt; ++t) out.sequences(b, t) = prompts(b, t);
    const std::int64_t n = std::int64_t(h.ids.size());
    for (std::int64_t t = 0; t < n; ++t) out.sequences(b, prompt + t) = h.ids[std::size_t(t)];
    if (n < width && !config.eos_token_ids.empty()) out.sequences(b, prompt + n) = config.eos_token_ids.front();
    out.sequences_scores(b) = float(h.score);
  }
  return out;
}

inline void check_beam_options(const BeamSearchOptions& o) {
  if (o.num_beams < 1) fail("num_beams must be >= 1, got ", o.num_beams);
  if (o.max_new_tokens < 1) fail("beam search needs max_new_tokens >= 1, got ", o.max_new_tokens);
}

}  // namespace detail

// Beam search for sources ids [B, Ls] (right-padded, attention_mask [B, Ls] or empty).
inline BeamSearchOutput beam_search(const EncoderDecoderModel& model, TensorView<const std::int64_t> ids,
                                    TensorView<const std::int64_t> attention_mask, const GenerationConfig& config,
                                    const BeamSearchOptions& options = {}) {
  detail::check_generation_inputs(ids, config, options.max_new_tokens);
  detail::check_beam_options(options);
  const std::int64_t batch = ids.dim(0);
  const Tensor<std::int64_t> start({batch, 1}, detail::decoder_start_of(config));
  Seq2SeqState state = model.start(ids, attention_mask, options.max_new_tokens);
  Tensor<float> logits = model.step(state, start);  // once per input; the beams copy its state
  bool expanded = false;
  return detail::run_beam_search(std::move(logits), start, config, options,
                                 [&](const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& next) {
                                   state.select_rows(rows, /*same_sources=*/expanded);
                                   expanded = true;
                                   Tensor<std::int64_t> column({std::int64_t(next.size()), 1});
                                   std::copy(next.begin(), next.end(), column.data());
                                   return model.step(state, column);
                                 });
}

// Beam search continuing prompts ids [B, L], left-padded (attention_mask [B, L] or empty). Positions
// follow HF's GPT-2/LLaMA prepare_inputs_for_generation: cumsum(mask) - 1, with 1 at pads.
inline BeamSearchOutput beam_search(const DecoderModel& model, TensorView<const std::int64_t> ids,
                                    TensorView<const std::int64_t> attention_mask, const GenerationConfig& config,
                                    const BeamSearchOptions& options = {}) {
  detail::check_generation_inputs(ids, config, options.max_new_tokens);
  detail::check_beam_options(options);
  const std::int64_t batch = ids.dim(0), length = ids.dim(1);
  if (!attention_mask.empty()) expect_shape(attention_mask, ids.shape(), "attention_mask");
  Tensor<std::int64_t> positions({batch, length});
  std::vector<std::int64_t> valid(std::size_t(batch), 0);  // prompt tokens per input
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t t = 0; t < length; ++t) {
      const bool token = attention_mask.empty() || attention_mask(b, t) != 0;
      if (!token && valid[std::size_t(b)] > 0)
        fail("decoder-only beam search needs left-padded prompts: row ", b, " has padding after its tokens");
      if (token) ++valid[std::size_t(b)];
      positions(b, t) = token ? valid[std::size_t(b)] - 1 : 1;
    }
  for (std::int64_t b = 0; b < batch; ++b)
    if (valid[std::size_t(b)] == 0) fail("decoder-only beam search: prompt row ", b, " has no tokens");
  DecoderState state = model.start(batch, length + options.max_new_tokens);
  Tensor<float> logits = model.step(state, ids, attention_mask, positions);
  std::vector<std::int64_t> source(static_cast<std::size_t>(batch));  // the input each state row belongs to
  std::iota(source.begin(), source.end(), 0);
  std::int64_t fed = 0;  // ids fed after the prompt
  return detail::run_beam_search(std::move(logits), Tensor<std::int64_t>::copy_of(ids), config, options,
                                 [&](const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& next) {
                                   state.select_rows(rows);
                                   const std::int64_t n = std::int64_t(rows.size());
                                   std::vector<std::int64_t> picked(static_cast<std::size_t>(n));
                                   Tensor<std::int64_t> column({n, 1}), position({n, 1});
                                   for (std::int64_t i = 0; i < n; ++i) {
                                     picked[std::size_t(i)] = source[std::size_t(rows[std::size_t(i)])];
                                     column(i, 0) = next[std::size_t(i)];
                                     position(i, 0) = valid[std::size_t(picked[std::size_t(i)])] + fed;
                                   }
                                   source = std::move(picked);
                                   ++fed;
                                   return model.step(state, column, {}, position);
                                 });
}

}  // namespace qkv
