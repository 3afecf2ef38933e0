// qkv-forward --model DIR --input IN.safetensors --output OUT.safetensors
// One forward pass of a Hugging Face model folder, for parity checks against PyTorch. IN holds
// input_ids (int64 [B, L]) and optionally attention_mask, token_type_ids, decoder_input_ids
// (+ decoder_attention_mask); OUT receives float32 logits / last_hidden_state (and
// encoder_last_hidden_state, pooler_output) named and shaped as transformers names them.
#include <variant>

#include "cli.hpp"
#include "qkv/io/safetensors.hpp"
#include "qkv/models/hf/load.hpp"

namespace {

using Outputs = std::vector<std::pair<std::string, qkv::Tensor<float>>>;

struct Inputs {
  qkv::Tensor<std::int64_t> ids, mask, token_types, decoder_ids, decoder_mask;
};

qkv::Tensor<std::int64_t> optional_ids(const qkv::io::SafetensorsFile& file, const std::string& name) {
  return file.contains(name) ? file.to_int64(name) : qkv::Tensor<std::int64_t>();
}

Outputs run(const qkv::EncoderModel& model, const Inputs& in) {
  qkv::ForwardOptions options;
  options.token_type_ids = in.token_types.view();
  auto out = model.forward(in.ids, in.mask.view(), options);
  Outputs result;
  result.emplace_back("last_hidden_state", std::move(out.last_hidden_state));
  if (out.pooler_output.numel() > 0) result.emplace_back("pooler_output", std::move(out.pooler_output));
  return result;
}

Outputs run(const qkv::DecoderModel& model, const Inputs& in) {
  auto out = model.forward(in.ids, in.mask.view());
  Outputs result;
  result.emplace_back("logits", std::move(out.logits));
  result.emplace_back("last_hidden_state", std::move(out.last_hidden_state));
  return result;
}

Outputs run(const qkv::EncoderDecoderModel& model, const Inputs& in) {
  if (in.decoder_ids.numel() == 0) qkv::fail("an encoder-decoder model needs decoder_input_ids in the input file");
  auto out = model.forward(in.ids, in.mask.view(), in.decoder_ids, in.decoder_mask.view());
  Outputs result;
  result.emplace_back("logits", std::move(out.logits));
  result.emplace_back("last_hidden_state", std::move(out.last_hidden_state));
  result.emplace_back("encoder_last_hidden_state", std::move(out.encoder_last_hidden_state));
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  return qkv::cli::run(argc, argv, "--model DIR --input IN.safetensors --output OUT.safetensors", {"model", "input", "output"},
                       {}, [](const qkv::cli::Args& args) {
                         const qkv::Model model = qkv::load(args.value("model"));
                         const auto file = qkv::io::SafetensorsFile::open(args.value("input"));
                         const Inputs in{file.to_int64("input_ids"), optional_ids(file, "attention_mask"),
                                         optional_ids(file, "token_type_ids"), optional_ids(file, "decoder_input_ids"),
                                         optional_ids(file, "decoder_attention_mask")};
                         const Outputs outputs = std::visit([&](const auto& m) { return run(m, in); }, model);
                         std::vector<std::pair<std::string, qkv::TensorView<const float>>> views;
                         for (const auto& [name, tensor] : outputs) views.emplace_back(name, tensor.view());
                         qkv::io::write_safetensors(args.value("output"), views);
                         return 0;
                       });
}
