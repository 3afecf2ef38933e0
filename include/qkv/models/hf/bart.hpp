#pragma once
// Hugging Face BART (BartForConditionalGeneration, model_type "bart"): the shared layer layout
// of bart_layout.hpp, with learned positions (offset 2) and layernorm_embedding in both stacks.
// Token embeddings are scaled by sqrt(d_model) only when scale_embedding is true (false in
// facebook/bart-*).
#include <string>

#include "qkv/models/hf/bart_layout.hpp"

namespace qkv::hf {

inline EncoderDecoderModel load_bart(const std::string& dir, const io::JsonConfig& config) {
  bart_layout::Arch arch;
  arch.default_vocab_size = 50265;  // BartConfig's default
  arch.layernorm_embedding = true;
  return bart_layout::load(dir, config, arch);
}

}  // namespace qkv::hf
