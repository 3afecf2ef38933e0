// qkv-embed --model DIR [--pooling cls|mean] [--classify] [--attention-svg FILE] (TEXT... | --ids 1,2,3)
// Runs an encoder-only model (BERT) on each TEXT (or, with none, each line of stdin), tokenized
// with the folder's tokenizer, and prints one line per input:
//   default     the sentence embedding as a JSON array of floats: cls = the first token's final
//               hidden state, mean = the average over the sequence's tokens;
//   --classify  the label of the model's sequence-classification head (config.json id2label) and
//               the class probabilities, as a JSON object.
// --attention-svg writes the self-attention of the last encoder layer, averaged over its heads.
#include <cstdio>
#include <variant>

#include "attention_svg.hpp"
#include "cli.hpp"
#include "qkv/io/json_config.hpp"
#include "qkv/models/hf/load.hpp"
#include "text_io.hpp"

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

std::string json_floats(const float* values, std::size_t n) {
  std::string line = "[";
  char number[32];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(number, sizeof number, "%.9g", double(values[i]));  // round-trips a float
    line += (i ? "," : "") + std::string(number);
  }
  return line + "]";
}

// config.json's id2label name of class `index` ("LABEL_<index>" when the config has none, as HF).
std::string label_of(const std::string& dir, std::int64_t index) {
  const auto config = qkv::io::JsonConfig::load(dir + "/config.json");
  const std::string key = std::to_string(index);
  if (config.has("id2label") && config.json().at("id2label").is_object() && config.json().at("id2label").contains(key) &&
      config.json().at("id2label").at(key).is_string())
    return config.json().at("id2label").at(key).get<std::string>();
  return "LABEL_" + key;
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "--model DIR [--pooling cls|mean] [--classify] [--attention-svg FILE] (TEXT... | --ids 1,2,3)\n"
      "  TEXT...            texts to embed; none: one per line of stdin\n"
      "  --classify         print the classification head's label and probabilities instead\n"
      "  --attention-svg F  write the last encoder layer's self-attention as an SVG heatmap";
  return qkv::cli::run(
      argc, argv, usage, {"model", "pooling", "ids", "attention-svg"}, {"classify"}, [](const qkv::cli::Args& args) {
        const std::string dir = args.value("model");
        const std::string pooling = args.value_or("pooling", "cls");
        if (pooling != "cls" && pooling != "mean") qkv::fail("--pooling must be cls or mean, got '", pooling, "'");
        if (args.has("ids") && !args.positional().empty()) qkv::fail("pass either TEXT or --ids, not both");
        const qkv::Model loaded = qkv::load(dir);
        const auto* model = std::get_if<qkv::EncoderModel>(&loaded);
        if (!model) qkv::fail(dir, " is not an encoder-only model (use qkv-generate or qkv-translate)");
        if (args.flag("classify") && model->classifier.weight.empty())
          qkv::fail(dir, " has no sequence-classification head (--classify needs one)");
        std::optional<qkv::Tokenizer> tokenizer;
        // --ids are checked before the tokenizer is needed (to print text or label tokens).
        if (!args.has("ids")) tokenizer = qkv::Tokenizer::load(dir);
        const auto inputs = qkv::cli::token_inputs(args, tokenizer ? &*tokenizer : nullptr);
        if (!tokenizer && (args.has("attention-svg"))) tokenizer = qkv::Tokenizer::load(dir);
        if (args.has("attention-svg") && inputs.size() != 1)
          qkv::fail("--attention-svg draws one input; got ", inputs.size());

        for (const auto& ids : inputs) {
          if (ids.empty()) qkv::fail("an input has no tokens");
          qkv::Tensor<std::int64_t> input({1, std::int64_t(ids.size())});
          std::copy(ids.begin(), ids.end(), input.data());
          qkv::ForwardOptions options;
          options.output_attentions = args.has("attention-svg");
          auto out = model->forward(input, {}, options);
          if (args.flag("classify")) {
            qkv::Tensor<float> probs = std::move(out.logits);
            qkv::ops::softmax(probs);
            const float* p = probs.data();
            const std::int64_t best = std::max_element(p, p + probs.dim(1)) - p;
            std::printf("{\"label\": \"%s\", \"probabilities\": %s}\n",
                        qkv::cli::json_escaped(label_of(dir, best)).c_str(), json_floats(p, std::size_t(probs.dim(1))).c_str());
          } else {
            const std::vector<float> embedding = pool(out.last_hidden_state, pooling);
            std::printf("%s\n", json_floats(embedding.data(), embedding.size()).c_str());
          }
          if (args.has("attention-svg")) {
            const auto labels = qkv::cli::token_labels(*tokenizer, ids);
            qkv::cli::write_text_file(args.value("attention-svg"),
                                      qkv::cli::attention_svg(labels, labels, qkv::cli::mean_over_heads(out.attentions.back()),
                                                              "Self-attention, last encoder layer (mean over heads)"));
          }
        }
        return 0;
      });
}
