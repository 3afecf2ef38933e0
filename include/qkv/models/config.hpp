#pragma once
// The shape of a transformer, independent of where its weights come from.
#include <cstdint>

#include "qkv/core/error.hpp"
#include "qkv/nn/encoder_block.hpp"
#include "qkv/nn/positional.hpp"

namespace qkv {

enum class PositionKind { none, sinusoidal, learned };

struct TransformerConfig {
  std::int64_t vocab_size = 0;
  std::int64_t d_model = 0;
  std::int64_t num_heads = 0;
  std::int64_t head_width = 0;  // per-head width when it is not d_model / num_heads (T5's d_kv); 0 = derived
  std::int64_t ffn_dim = 0;
  std::int64_t encoder_layers = 0;  // encoder-only and encoder-decoder models
  std::int64_t decoder_layers = 0;  // decoder-only and encoder-decoder models
  std::int64_t max_positions = 0;   // length of the position table
  PositionKind positions = PositionKind::sinusoidal;
  nn::SinusoidLayout sinusoid_layout = nn::SinusoidLayout::interleaved;
  float embed_scale = 1.0f;  // token embeddings are multiplied by this (sqrt(d_model) in the original)
  Activation activation = Activation::relu;
  bool gated_ffn = false;
  nn::NormKind norm = nn::NormKind::layer_norm;
  float norm_eps = 1e-5f;
  nn::NormPlacement placement = nn::NormPlacement::post;
  bool final_norm = false;        // a norm after the last layer of each stack
  std::int64_t num_labels = 0;    // encoder-only: classes of the head on the first token (0 = no head)

  std::int64_t head_dim() const { return head_width > 0 ? head_width : d_model / num_heads; }

  // Throws qkv::Error naming the first inconsistent field.
  void validate() const {
    auto positive = [](std::int64_t v, const char* name) {
      if (v <= 0) fail("config: ", name, " must be positive, got ", v);
    };
    positive(vocab_size, "vocab_size");
    positive(d_model, "d_model");
    positive(num_heads, "num_heads");
    positive(ffn_dim, "ffn_dim");
    if (head_width < 0) fail("config: head_width must not be negative, got ", head_width);
    if (head_width == 0 && d_model % num_heads != 0)
      fail("config: num_heads (", num_heads, ") does not divide d_model (", d_model, ")");
    if (encoder_layers < 0 || decoder_layers < 0) fail("config: layer counts must not be negative");
    if (positions != PositionKind::none) positive(max_positions, "max_positions");
    if (num_labels < 0) fail("config: num_labels must not be negative, got ", num_labels);
    if (!(norm_eps >= 0.0f)) fail("config: norm_eps must be >= 0, got ", norm_eps);
  }
};

}  // namespace qkv
