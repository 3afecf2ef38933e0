// qkv-translate --model DIR [--beams N] [--max-new-tokens N] [--print-ids] [--attention-svg FILE]
//               (TEXT... | --ids 1,2,3)
// Translates with an encoder-decoder model (Marian, T5, BART): each TEXT (or, with none, each line
// of stdin) is tokenized with the folder's tokenizer, generated greedily with --beams 1 (the
// default, streamed as it goes) or by beam search, and printed as text, one line per input.
// --print-ids prints the generated ids instead (not the decoder start token; the EOS id included
// when one was produced). --attention-svg writes the cross-attention of the last decoder layer,
// averaged over its heads, as a heatmap: source tokens as columns, generated tokens as rows.
#include <iostream>
#include <variant>

#include "attention_svg.hpp"
#include "cli.hpp"
#include "qkv/generate/beam_search.hpp"
#include "qkv/generate/seq2seq.hpp"
#include "qkv/models/generation_config.hpp"
#include "qkv/models/hf/load.hpp"
#include "text_io.hpp"

namespace {

// Where a model qkv-translate cannot run belongs instead.
const char* other_program(const qkv::Model& model) {
  if (std::holds_alternative<qkv::DecoderModel>(model)) return "a decoder-only model: use qkv-generate";
  return "an encoder-only model: use qkv-embed";
}

std::vector<std::int64_t> translate(const qkv::EncoderDecoderModel& model, const qkv::GenerationConfig& config,
                                    const std::vector<std::int64_t>& ids, std::int64_t beams,
                                    std::int64_t max_new_tokens, const std::function<void(std::int64_t)>& on_token) {
  qkv::Tensor<std::int64_t> source({1, std::int64_t(ids.size())});
  std::copy(ids.begin(), ids.end(), source.data());
  const qkv::Tensor<std::int64_t> mask(source.shape(), 1);
  if (beams == 1) {  // greedy: stream the ids as they are produced
    qkv::GreedyOptions options;
    options.max_new_tokens = max_new_tokens;
    const auto out = qkv::generate_greedy(model, source, mask, config, options, [&](std::int64_t, std::int64_t id) {
      on_token(id);
      return true;
    });
    return qkv::generated_ids(out.sequences, 0, 1, config);
  }
  qkv::BeamSearchOptions options;
  options.num_beams = beams;
  options.max_new_tokens = max_new_tokens;
  const auto generated = qkv::generated_ids(qkv::beam_search(model, source, mask, config, options).sequences, 0, 1, config);
  for (const std::int64_t id : generated) on_token(id);
  return generated;
}

// Teacher-forces the translation to read the cross-attention each generated token was produced
// with: row t is decoder position t, whose input is the token before it.
qkv::Tensor<float> cross_attention(const qkv::EncoderDecoderModel& model, const qkv::GenerationConfig& config,
                                   const std::vector<std::int64_t>& source, const std::vector<std::int64_t>& generated) {
  qkv::Tensor<std::int64_t> ids({1, std::int64_t(source.size())}), decoder_ids({1, std::int64_t(generated.size())});
  std::copy(source.begin(), source.end(), ids.data());
  decoder_ids(0, 0) = qkv::detail::decoder_start_of(config);
  std::copy(generated.begin(), generated.end() - 1, decoder_ids.data() + 1);
  const auto out = model.forward(ids, {}, decoder_ids, {}, qkv::ForwardOptions::with_attentions());
  return qkv::cli::mean_over_heads(out.cross_attentions.back());
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "--model DIR [--beams N] [--max-new-tokens N] [--print-ids] [--attention-svg FILE] (TEXT... | --ids 1,2,3)\n"
      "  TEXT...             sentences to translate; none: one per line of stdin\n"
      "  --beams N           1 = greedy (default), more = beam search\n"
      "  --max-new-tokens N  at most N generated tokens (default 64)\n"
      "  --print-ids         print the generated token ids instead of text\n"
      "  --attention-svg F   write the last decoder layer's cross-attention as an SVG heatmap";
  return qkv::cli::run(
      argc, argv, usage, {"model", "beams", "max-new-tokens", "ids", "attention-svg"}, {"print-ids"},
      [](const qkv::cli::Args& args) {
        const std::string dir = args.value("model");
        const std::int64_t beams = args.integer_or("beams", 1);
        const std::int64_t max_new_tokens = args.integer_or("max-new-tokens", 64);
        if (beams < 1) qkv::fail("--beams must be at least 1, got ", beams);
        if (max_new_tokens < 1) qkv::fail("--max-new-tokens must be at least 1, got ", max_new_tokens);
        if (args.has("ids") && !args.positional().empty()) qkv::fail("pass either TEXT or --ids, not both");

        const qkv::Model loaded = qkv::load(dir);
        const auto* model = std::get_if<qkv::EncoderDecoderModel>(&loaded);
        if (model == nullptr) qkv::fail(dir, " is ", other_program(loaded), " (qkv-translate runs encoder-decoder models)");
        const qkv::GenerationConfig config = qkv::GenerationConfig::load(dir);
        std::optional<qkv::Tokenizer> tokenizer;
        // --ids are checked before the tokenizer is needed (to print text or label tokens).
        if (!args.has("ids")) tokenizer = qkv::Tokenizer::load(dir);
        const auto sources = qkv::cli::token_inputs(args, tokenizer ? &*tokenizer : nullptr);
        if (!tokenizer && (!args.flag("print-ids") || args.has("attention-svg"))) tokenizer = qkv::Tokenizer::load(dir);
        if (args.has("attention-svg") && sources.size() != 1)
          qkv::fail("--attention-svg draws one translation; got ", sources.size(), " inputs");

        for (const auto& source : sources) {
          std::optional<qkv::cli::TextStreamer> text;
          if (!args.flag("print-ids")) text.emplace(*tokenizer);
          bool first = true;
          const auto generated = translate(*model, config, source, beams, max_new_tokens, [&](std::int64_t id) {
            if (text) return text->push(id);
            std::cout << (first ? "" : " ") << id << std::flush;
            first = false;
          });
          if (text) text->finish();
          std::cout << "\n";
          if (args.has("attention-svg") && !generated.empty()) {
            const auto weights = cross_attention(*model, config, source, generated);
            qkv::cli::write_text_file(args.value("attention-svg"),
                                      qkv::cli::attention_svg(qkv::cli::token_labels(*tokenizer, source),
                                                              qkv::cli::token_labels(*tokenizer, generated), weights,
                                                              "Cross-attention, last decoder layer (mean over heads)"));
          }
        }
        return 0;
      });
}
