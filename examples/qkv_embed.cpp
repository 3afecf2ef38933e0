// qkv-embed --model DIR [--pooling cls|mean] (TEXT... | --ids 1,2,3)
// Sentence embeddings from an encoder-only model: one JSON array of floats per input line.
// cls = the first token's final hidden state; mean = the average over the sequence's tokens.
#include <cstdio>
#include <variant>

#include "cli.hpp"
#include "qkv/models/hf/load.hpp"

namespace {

std::vector<float> pool(const qkv::Tensor<float>& hidden, const std::string& pooling) {
  const std::int64_t length = hidden.dim(1), d = hidden.dim(2);
  std::vector<float> out(std::size_t(d), 0.0f);
  if (pooling == "cls") {
    for (std::int64_t i = 0; i < d; ++i) out[std::size_t(i)] = hidden(0, 0, i);
  } else {
    for (std::int64_t t = 0; t < length; ++t)
      for (std::int64_t i = 0; i < d; ++i) out[std::size_t(i)] += hidden(0, t, i) / float(length);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  return qkv::cli::run(
      argc, argv, "--model DIR [--pooling cls|mean] (TEXT... | --ids 1,2,3)", {"model", "pooling", "ids"}, {},
      [](const qkv::cli::Args& args) {
        const std::string pooling = args.value_or("pooling", "cls");
        if (pooling != "cls" && pooling != "mean") qkv::fail("--pooling must be cls or mean, got '", pooling, "'");
        if (!args.positional().empty())
          qkv::fail("text input needs tokenizer.json support, which this version does not have yet; pass --ids 1,2,3");
        if (!args.has("ids")) qkv::fail("nothing to embed: pass --ids 1,2,3");
        const qkv::Model loaded = qkv::load(args.value("model"));
        const auto* model = std::get_if<qkv::EncoderModel>(&loaded);
        if (!model) qkv::fail(args.value("model"), " is not an encoder-only model (use qkv-generate or qkv-translate)");
        const std::vector<std::int64_t> ids = qkv::cli::parse_ids(args.value("ids"));
        qkv::Tensor<std::int64_t> input({1, std::int64_t(ids.size())});
        std::copy(ids.begin(), ids.end(), input.data());
        const std::vector<float> embedding = pool(model->forward(input).last_hidden_state, pooling);
        std::string line = "[";
        char number[32];
        for (std::size_t i = 0; i < embedding.size(); ++i) {
          std::snprintf(number, sizeof number, "%.9g", double(embedding[i]));  // round-trips a float
          line += (i ? "," : "") + std::string(number);
        }
        std::printf("%s]\n", line.c_str());
        return 0;
      });
}
