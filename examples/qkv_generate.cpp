// qkv-generate --model DIR [--prompt TEXT | --ids 1,2,3] [--max-new-tokens N] [--greedy]
//              [--temperature T] [--top-k K] [--top-p P] [--seed S] [--print-ids]
// Continues a prompt with a decoder-only Hugging Face model (GPT-2, LLaMA), streaming the tokens
// as they are produced. qkv has no tokenizer yet, so prompts are token ids and the output is ids:
// by default the prompt and its continuation; with --print-ids only the generated ids (the end
// token included when one was produced), space-separated on one line.
#include <iostream>
#include <variant>

#include "cli.hpp"
#include "qkv/generate/generate.hpp"
#include "qkv/io/json_config.hpp"
#include "qkv/models/hf/load.hpp"

namespace {

const qkv::DecoderModel& decoder_of(const qkv::Model& model, const std::string& dir) {
  if (const auto* decoder = std::get_if<qkv::DecoderModel>(&model)) return *decoder;
  const std::string type = qkv::io::JsonConfig::load(dir + "/config.json").string("model_type");
  if (std::holds_alternative<qkv::EncoderDecoderModel>(model))
    qkv::fail(dir, " holds an encoder-decoder model (", type, "); qkv-generate runs decoder-only models, use qkv-translate");
  qkv::fail(dir, " holds an encoder-only model (", type, "); qkv-generate runs decoder-only models, use qkv-embed");
}

qkv::GenerateOptions options_of(const qkv::cli::Args& args, const std::string& dir) {
  qkv::GenerateOptions o = qkv::GenerateOptions::from(qkv::GenerationConfig::load(dir));
  o.max_new_tokens = args.integer_or("max-new-tokens", 20);
  if (o.max_new_tokens < 0) qkv::fail("--max-new-tokens must be >= 0, got ", o.max_new_tokens);
  o.sampling.greedy = args.flag("greedy");
  o.sampling.temperature = float(args.number_or("temperature", 1.0));
  o.sampling.top_k = args.integer_or("top-k", 0);
  o.sampling.top_p = float(args.number_or("top-p", 1.0));
  const std::int64_t seed = args.integer_or("seed", 0);
  if (seed < 0) qkv::fail("--seed must be >= 0, got ", seed);
  o.sampling.seed = std::uint64_t(seed);
  o.sampling.validate();  // before loading the model: a bad flag fails fast
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage =
      "--model DIR [--prompt TEXT | --ids 1,2,3] [--max-new-tokens N] [--greedy] [--temperature T] [--top-k K] "
      "[--top-p P] [--seed S] [--print-ids]";
  return qkv::cli::run(
      argc, argv, usage, {"model", "prompt", "ids", "max-new-tokens", "temperature", "top-k", "top-p", "seed"},
      {"greedy", "print-ids"}, [](const qkv::cli::Args& args) {
        const std::string dir = args.value("model");
        if (args.has("prompt"))
          qkv::fail("--prompt TEXT needs tokenizer.json support, which qkv does not have yet; pass token ids with --ids 1,2,3");
        if (!args.has("ids")) qkv::fail("missing the prompt: pass token ids with --ids 1,2,3");
        if (!args.positional().empty()) qkv::fail("unexpected argument '", args.positional().front(), "'");
        const std::vector<std::int64_t> prompt = qkv::cli::parse_ids(args.value("ids"));
        const qkv::GenerateOptions options = options_of(args, dir);

        const qkv::Model model = qkv::load(dir);
        const qkv::DecoderModel& decoder = decoder_of(model, dir);
        bool first = true;
        auto print = [&](std::int64_t id) {
          std::cout << (first ? "" : " ") << id << std::flush;
          first = false;
        };
        // No detokenizer: the "text" is the ids, prompt first. It is printed with the first new
        // token, so a request generate refuses leaves stdout empty.
        bool started = false;
        auto start = [&] {
          if (!started && !args.flag("print-ids"))
            for (std::int64_t id : prompt) print(id);
          started = true;
        };
        qkv::generate(decoder, {prompt}, options, [&](std::int64_t, std::int64_t id) {
          start();
          print(id);
          return true;
        });
        start();
        std::cout << "\n";
        return 0;
      });
}
