// qkv-bench --model DIR [--prompt-tokens N] [--gen-tokens N] [--batch B] [--reps R] [--seed S] [--json]
// Prefill and decode throughput of a Hugging Face model folder on random token ids (uniform over
// the vocabulary, seeded), and the process's peak resident memory.
//
// - decoder-only (GPT-2, LLaMA): prefill = the prompt [B, N] through DecoderModel::step into a
//   fresh KV cache, as generation does; decode = --gen-tokens single-token steps, each feeding
//   back the greedy (argmax) id of every row.
// - encoder-only (BERT): prefill = one forward of [B, N]; there is no decode (0 tokens/s).
// - encoder-decoder (T5, BART, Marian): prefill = EncoderDecoderModel::start, which encodes the
//   source [B, N] and fills every layer's cross-attention cache; decode = --gen-tokens decoder
//   steps, from the decoder start token on, feeding back the greedy ids.
//
// One untimed run of the same shapes comes first: it pages the weights in (they are memory-mapped)
// and lets every buffer reach its size, so the timed runs measure the steady state a server or a
// chat loop sees (ONNX Runtime's figures in ../shared/peers are taken the same way). Then --reps
// timed runs; each phase reports the median of its wall-clock times.
// The output is a short table, or with --json one JSON object on one line (the last line of
// stdout) with prefill_tokens_per_s, decode_tokens_per_s, peak_rss_mb, isa, threads and the
// details of the run.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <variant>
#include <vector>

#include "cli.hpp"
#include "qkv/models/generation_config.hpp"
#include "qkv/io/json_config.hpp"
#include "qkv/models/hf/load.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Request {
  std::int64_t prompt_tokens = 0, gen_tokens = 0, batch = 0;
  std::uint64_t seed = 0;
};

struct Timing {
  const char* kind = "";                 // decoder-only, encoder-only, encoder-decoder
  double prefill_s = 0, decode_s = 0;    // wall clock of each phase
  std::int64_t prefill_tokens = 0, decode_tokens = 0;
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

qkv::Tensor<std::int64_t> random_ids(std::int64_t batch, std::int64_t length, std::int64_t vocab, std::mt19937_64& rng) {
  qkv::Tensor<std::int64_t> ids({batch, length});
  std::uniform_int_distribution<std::int64_t> id(0, vocab - 1);
  for (std::int64_t i = 0; i < ids.numel(); ++i) ids.data()[i] = id(rng);
  return ids;
}

// next(b, 0) = argmax of logits row b ([B, vocab]), the first maximum as torch.argmax.
void greedy_ids(const qkv::Tensor<float>& logits, qkv::Tensor<std::int64_t>& next) {
  const std::int64_t vocab = logits.dim(1);
  for (std::int64_t b = 0; b < logits.dim(0); ++b) {
    const float* row = logits.data() + b * vocab;
    next(b, 0) = std::int64_t(std::max_element(row, row + vocab) - row);
  }
}

// A learned (or precomputed) position table bounds the sequence; 0 = no table (rotary, T5).
void check_positions(std::int64_t needed, std::int64_t table, const char* what) {
  if (table > 0 && needed > table) qkv::fail(what, " (", needed, " positions) exceeds the model's ", table, " positions");
}

Timing bench(const qkv::DecoderModel& model, const Request& r, std::mt19937_64& rng) {
  check_positions(r.prompt_tokens + r.gen_tokens, model.input.positions.max_positions(), "--prompt-tokens + --gen-tokens");
  const std::int64_t vocab = model.input.tokens.vocab_size();
  const qkv::Tensor<std::int64_t> prompt = random_ids(r.batch, r.prompt_tokens, vocab, rng);
  Timing t;
  t.kind = "decoder-only";
  Clock::time_point start = Clock::now();
  qkv::DecoderState state = model.start(r.batch, r.prompt_tokens + r.gen_tokens);
  qkv::Tensor<float> logits = model.step(state, prompt);
  t.prefill_s = seconds_since(start);
  t.prefill_tokens = r.batch * r.prompt_tokens;

  qkv::Tensor<std::int64_t> next({r.batch, 1});
  start = Clock::now();
  for (std::int64_t g = 0; g < r.gen_tokens; ++g) {
    greedy_ids(logits, next);
    logits = model.step(state, next);
  }
  t.decode_s = seconds_since(start);
  t.decode_tokens = r.batch * r.gen_tokens;
  return t;
}

Timing bench(const qkv::EncoderModel& model, const Request& r, std::mt19937_64& rng) {
  check_positions(r.prompt_tokens, model.input.positions.max_positions(), "--prompt-tokens");
  const std::int64_t vocab = model.input.tokens.vocab_size();
  const qkv::Tensor<std::int64_t> ids = random_ids(r.batch, r.prompt_tokens, vocab, rng);
  Timing t;
  t.kind = "encoder-only";
  const Clock::time_point start = Clock::now();
  model.forward(ids);
  t.prefill_s = seconds_since(start);
  t.prefill_tokens = r.batch * r.prompt_tokens;
  return t;
}

Timing bench(const qkv::EncoderDecoderModel& model, const Request& r, std::int64_t decoder_start, std::mt19937_64& rng) {
  check_positions(r.prompt_tokens, model.encoder_input.positions.max_positions(), "--prompt-tokens");
  check_positions(1 + r.gen_tokens, model.decoder_input.positions.max_positions(), "1 + --gen-tokens");
  const std::int64_t vocab = model.encoder_input.tokens.vocab_size();
  if (decoder_start < 0 || decoder_start >= model.decoder_input.tokens.vocab_size()) decoder_start = 0;
  const qkv::Tensor<std::int64_t> source = random_ids(r.batch, r.prompt_tokens, vocab, rng);
  Timing t;
  t.kind = "encoder-decoder";
  Clock::time_point start = Clock::now();
  qkv::Seq2SeqState state = model.start(source, {}, 1 + r.gen_tokens);
  t.prefill_s = seconds_since(start);
  t.prefill_tokens = r.batch * r.prompt_tokens;

  qkv::Tensor<std::int64_t> next({r.batch, 1}, decoder_start);
  start = Clock::now();
  for (std::int64_t g = 0; g < r.gen_tokens; ++g) {
    const qkv::Tensor<float> logits = model.step(state, next);
    greedy_ids(logits, next);
  }
  t.decode_s = seconds_since(start);
  t.decode_tokens = r.batch * r.gen_tokens;
  return t;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // Linux reports kilobytes
}

// The median of each phase's times over the runs (each phase on its own).
Timing median_timing(std::vector<Timing> runs) {
  Timing t = runs.front();
  const auto median = [&](double Timing::*phase) {
    std::sort(runs.begin(), runs.end(), [&](const Timing& a, const Timing& b) { return a.*phase < b.*phase; });
    return runs[runs.size() / 2].*phase;
  };
  t.prefill_s = median(&Timing::prefill_s);
  t.decode_s = median(&Timing::decode_s);
  return t;
}

double per_second(std::int64_t tokens, double seconds) { return tokens > 0 && seconds > 0 ? double(tokens) / seconds : 0.0; }

}  // namespace

int main(int argc, char** argv) {
  const std::string usage =
      "--model DIR [--prompt-tokens N] [--gen-tokens N] [--batch B] [--reps R] [--seed S] [--json]\n"
      "  --prompt-tokens N  tokens per sequence in the prefill (default 128)\n"
      "  --gen-tokens N     decode steps after the prefill (default 32; encoder-only models have none)\n"
      "  --batch B          sequences run together (default 1)\n"
      "  --reps R           timed runs after one untimed warm-up run; the median is reported (default 3)\n"
      "  --seed S           seed of the random token ids (default 0)\n"
      "  --json             print one JSON object instead of the table";
  return qkv::cli::run(
      argc, argv, usage, {"model", "prompt-tokens", "gen-tokens", "batch", "reps", "seed"}, {"json"}, [](const qkv::cli::Args& args) {
        const std::string dir = args.value("model");
        Request r;
        r.prompt_tokens = args.integer_or("prompt-tokens", 128);
        r.gen_tokens = args.integer_or("gen-tokens", 32);
        r.batch = args.integer_or("batch", 1);
        const std::int64_t reps = args.integer_or("reps", 3);
        const std::int64_t seed = args.integer_or("seed", 0);
        if (r.prompt_tokens < 1) qkv::fail("--prompt-tokens must be at least 1, got ", r.prompt_tokens);
        if (r.gen_tokens < 0) qkv::fail("--gen-tokens must be >= 0, got ", r.gen_tokens);
        if (r.batch < 1) qkv::fail("--batch must be at least 1, got ", r.batch);
        if (reps < 1) qkv::fail("--reps must be at least 1, got ", reps);
        if (seed < 0) qkv::fail("--seed must be >= 0, got ", seed);
        if (!args.positional().empty()) qkv::fail("unexpected argument '", args.positional().front(), "'");
        r.seed = std::uint64_t(seed);

        const std::string model_type = qkv::io::JsonConfig::load(dir + "/config.json").string("model_type");
        const qkv::Model model = qkv::load(dir);
        std::mt19937_64 rng(r.seed);
        std::int64_t decoder_start = 0;
        if (std::holds_alternative<qkv::EncoderDecoderModel>(model)) {
          const qkv::GenerationConfig config = qkv::GenerationConfig::load(dir);
          decoder_start = config.decoder_start_token_id >= 0 ? config.decoder_start_token_id : config.bos_token_id;
        }
        const auto run_once = [&] {
          if (const auto* decoder = std::get_if<qkv::DecoderModel>(&model)) return bench(*decoder, r, rng);
          if (const auto* encoder = std::get_if<qkv::EncoderModel>(&model)) return bench(*encoder, r, rng);
          return bench(std::get<qkv::EncoderDecoderModel>(model), r, decoder_start, rng);
        };
        run_once();  // warm-up
        std::vector<Timing> runs;
        for (std::int64_t i = 0; i < reps; ++i) runs.push_back(run_once());
        const Timing t = median_timing(std::move(runs));
        const std::int64_t gen_tokens = t.decode_tokens > 0 ? r.gen_tokens : 0;

        nlohmann::json out;
        out["model"] = dir;
        out["model_type"] = model_type;
        out["kind"] = t.kind;
        out["isa"] = std::string(qkv::isa_name(qkv::active_isa()));
        out["threads"] = qkv::num_threads();
        out["batch"] = r.batch;
        out["prompt_tokens"] = r.prompt_tokens;
        out["gen_tokens"] = gen_tokens;
        out["seed"] = r.seed;
        out["reps"] = reps;
        out["prefill_ms"] = 1e3 * t.prefill_s;
        out["prefill_tokens_per_s"] = per_second(t.prefill_tokens, t.prefill_s);
        out["decode_ms"] = 1e3 * t.decode_s;
        out["decode_ms_per_token"] = gen_tokens > 0 ? 1e3 * t.decode_s / double(gen_tokens) : 0.0;  // per step of the batch
        out["decode_tokens_per_s"] = per_second(t.decode_tokens, t.decode_s);
        out["peak_rss_mb"] = peak_rss_mb();
        if (args.flag("json")) {
          std::cout << out.dump() << "\n";
          return 0;
        }
        char line[160];
        std::cout << "model    " << dir << " (" << model_type << ", " << t.kind << ")\n";
        std::cout << "isa " << out["isa"].get<std::string>() << ", threads " << qkv::num_threads() << ", batch " << r.batch
                  << ", prompt " << r.prompt_tokens << " tokens, " << gen_tokens << " generated tokens\n";
        std::snprintf(line, sizeof line, "prefill  %10.1f ms           %10.1f tokens/s\n", 1e3 * t.prefill_s,
                      out["prefill_tokens_per_s"].get<double>());
        std::cout << line;
        if (gen_tokens > 0) {
          std::snprintf(line, sizeof line, "decode   %10.2f ms per step  %10.1f tokens/s\n",
                        out["decode_ms_per_token"].get<double>(), out["decode_tokens_per_s"].get<double>());
          std::cout << line;
        } else {
          std::cout << "decode   (none)\n";
        }
        std::snprintf(line, sizeof line, "peak RSS %10.1f MB\n", out["peak_rss_mb"].get<double>());
        std::cout << line;
        return 0;
      });
}
