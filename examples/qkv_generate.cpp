// qkv-generate --model DIR [--prompt TEXT | --ids 1,2,3] [--max-new-tokens N] [--greedy]
//              [--temperature T] [--top-k K] [--top-p P] [--seed S] [--print-ids]
// Continues a prompt with a decoder-only Hugging Face model (GPT-2, LLaMA), streaming the text
// as it is produced: the prompt, then its continuation. The prompt is TEXT, tokenized with the
// folder's tokenizer, or token ids. --print-ids prints only the generated ids (the end token
// included when one was produced), space-separated on one line.
#include <iostream>
#include <variant>

#include "cli.hpp"
#include "qkv/generate/generate.hpp"
#include "qkv/io/json_config.hpp"
#include "qkv/models/hf/load.hpp"
#include "text_io.hpp"

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
        if (args.has("prompt") == args.has("ids")) qkv::fail("pass the prompt as --prompt TEXT or as token ids with --ids 1,2,3");
        if (!args.positional().empty()) qkv::fail("unexpected argument '", args.positional().front(), "'");
        const qkv::GenerateOptions options = options_of(args, dir);

        const qkv::Model model = qkv::load(dir);
        const qkv::DecoderModel& decoder = decoder_of(model, dir);
        std::optional<qkv::Tokenizer> tokenizer;
        if (args.has("prompt")) tokenizer = qkv::Tokenizer::load(dir);
        const std::vector<std::int64_t> prompt = args.has("prompt")
                                                     ? qkv::cli::to_int64(tokenizer->encode(args.value("prompt")))
                                                     : qkv::cli::parse_ids(args.value("ids"));
        if (!tokenizer && !args.flag("print-ids")) tokenizer = qkv::Tokenizer::load(dir);  // to print text
        if (prompt.empty()) qkv::fail("the prompt is empty: it has no tokens to continue");
        if (args.flag("print-ids")) {
          bool first = true;
          qkv::generate(decoder, {prompt}, options, [&](std::int64_t, std::int64_t id) {
            std::cout << (first ? "" : " ") << id << std::flush;
            first = false;
            return true;
          });
        } else {  // the prompt's text is printed with the first new token, so a refused request prints nothing
          qkv::cli::TextStreamer text(*tokenizer, prompt);
          qkv::generate(decoder, {prompt}, options, [&](std::int64_t, std::int64_t id) {
            text.push(id);
            return true;
          });
          text.finish();
        }
        std::cout << "\n";
        return 0;
      });
}
