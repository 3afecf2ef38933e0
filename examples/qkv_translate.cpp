// qkv-translate --model DIR [--beams N] [--max-new-tokens N] [--print-ids] (TEXT | --ids 1,2,3)
// Generates the decoder output of an encoder-decoder model (T5, BART, Marian) for one source:
// greedy with --beams 1 (the default, streamed as it goes), else beam search. Prints the
// generated ids (not the decoder start token; the EOS id included when one was produced),
// space-separated on one line. There is no tokenizer yet: TEXT is refused and ids are printed
// even without --print-ids.
#include <iostream>
#include <variant>

#include "cli.hpp"
#include "qkv/generate/beam_search.hpp"
#include "qkv/generate/seq2seq.hpp"
#include "qkv/models/generation_config.hpp"
#include "qkv/models/hf/load.hpp"

namespace {

// Where a model qkv-translate cannot run belongs instead.
const char* other_program(const qkv::Model& model) {
  if (std::holds_alternative<qkv::DecoderModel>(model)) return "a decoder-only model: use qkv-generate";
  return "an encoder-only model: use qkv-embed";
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "--model DIR [--beams N] [--max-new-tokens N] [--print-ids] (TEXT | --ids 1,2,3)\n"
      "  --beams N           1 = greedy (default), more = beam search\n"
      "  --max-new-tokens N  at most N generated ids (default 20)";
  return qkv::cli::run(
      argc, argv, usage, {"model", "beams", "max-new-tokens", "ids"}, {"print-ids"}, [](const qkv::cli::Args& args) {
        const std::string dir = args.value("model");
        const std::int64_t beams = args.integer_or("beams", 1);
        const std::int64_t max_new_tokens = args.integer_or("max-new-tokens", 20);
        if (beams < 1) qkv::fail("--beams must be at least 1, got ", beams);
        if (max_new_tokens < 1) qkv::fail("--max-new-tokens must be at least 1, got ", max_new_tokens);
        if (!args.positional().empty())
          qkv::fail("TEXT input needs a tokenizer, which qkv-translate does not have yet; pass token ids with --ids 1,2,3");
        if (!args.has("ids")) qkv::fail("missing input: pass the source token ids with --ids 1,2,3");
        const std::vector<std::int64_t> ids = qkv::cli::parse_ids(args.value("ids"));

        const qkv::Model loaded = qkv::load(dir);
        const auto* model = std::get_if<qkv::EncoderDecoderModel>(&loaded);
        if (model == nullptr) qkv::fail(dir, " is ", other_program(loaded), " (qkv-translate runs encoder-decoder models)");
        const qkv::GenerationConfig config = qkv::GenerationConfig::load(dir);
        if (args.flag("verbose") && !args.flag("print-ids"))
          std::cerr << "qkv-translate: no detokenizer yet, printing token ids\n";

        qkv::Tensor<std::int64_t> source({1, std::int64_t(ids.size())});
        std::copy(ids.begin(), ids.end(), source.data());
        const qkv::Tensor<std::int64_t> mask(source.shape(), 1);
        if (beams == 1) {  // greedy: stream the ids as they are produced
          qkv::GreedyOptions options;
          options.max_new_tokens = max_new_tokens;
          bool first = true;
          qkv::generate_greedy(*model, source, mask, config, options, [&](std::int64_t, std::int64_t id) {
            std::cout << (first ? "" : " ") << id << std::flush;
            first = false;
            return true;
          });
        } else {
          qkv::BeamSearchOptions options;
          options.num_beams = beams;
          options.max_new_tokens = max_new_tokens;
          const auto out = qkv::beam_search(*model, source, mask, config, options);
          const auto generated = qkv::generated_ids(out.sequences, 0, 1, config);
          for (std::size_t i = 0; i < generated.size(); ++i) std::cout << (i ? " " : "") << generated[i];
        }
        std::cout << "\n";
        return 0;
      });
}
