#pragma once
// Hugging Face Marian (MarianMTModel, model_type "marian"): the shared layer layout of
// bart_layout.hpp without layernorm_embedding, with sinusoidal positions in the non-interleaved
// "halves" layout that are recomputed rather than stored, and, when
// share_encoder_decoder_embeddings is false, separate encoder and decoder embeddings (the
// decoder's of decoder_vocab_size rows, tied to the LM head).
#include <string>

#include "qkv/models/hf/bart_layout.hpp"

namespace qkv::hf {

inline EncoderDecoderModel load_marian(const std::string& dir, const io::JsonConfig& config) {
  bart_layout::Arch arch;
  arch.default_vocab_size = 58101;  // MarianConfig's default
  arch.sinusoidal_positions = true;
  arch.separate_embeddings = !config.boolean_or("share_encoder_decoder_embeddings", true);
  arch.decoder_vocab_size = config.count_or("decoder_vocab_size", config.count_or("vocab_size", arch.default_vocab_size));
  return bart_layout::load(dir, config, arch);
}

}  // namespace qkv::hf
