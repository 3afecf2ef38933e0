#pragma once
// The layer layout BART and Marian share (HF BartEncoderLayer / BartDecoderLayer and their
// Marian copies): post-norm blocks with biased q/k/v/out projections, q scaled by head_dim^-0.5,
// fc1 -> activation -> fc2, LayerNorms with bias (eps 1e-5), and an LM head with final_logits_bias.
// The architectures differ only in their token input, which Arch describes.
//
//   model.shared.weight [V, d]     (or model.{encoder,decoder}.embed_tokens.weight, see Arch)
//   model.{encoder,decoder}.embed_positions.weight   learned table (BART, [max_pos + 2, d])
//   model.{encoder,decoder}.layernorm_embedding.{weight,bias}                         (BART)
//   model.encoder.layers.N.{self_attn.{q,k,v,out}_proj, self_attn_layer_norm, fc1, fc2, final_layer_norm}.*
//   model.decoder.layers.N.{self_attn, self_attn_layer_norm, encoder_attn, encoder_attn_layer_norm,
//                           fc1, fc2, final_layer_norm}.*
//   lm_head.weight [V_target, d]   only when tie_word_embeddings is false
//   final_logits_bias [1, V_target]
#include <cmath>
#include <memory>
#include <string>

#include "qkv/io/json_config.hpp"
#include "qkv/models/encoder_decoder_model.hpp"
#include "qkv/models/hf/aliases.hpp"
#include "qkv/ops/activation.hpp"

namespace qkv::hf::bart_layout {

// What distinguishes the architectures of the family.
struct Arch {
  std::int64_t default_vocab_size = 0;  // the config class's default
  bool sinusoidal_positions = false;    // Marian: a computed "halves" table; BART: a learned one with offset 2
  bool layernorm_embedding = false;     // BART: a LayerNorm on the embeddings of both stacks
  bool separate_embeddings = false;     // Marian's share_encoder_decoder_embeddings = false
  std::int64_t decoder_vocab_size = 0;  // with separate embeddings (Marian's decoder_vocab_size); else vocab_size
};

// nn.Linear with its bias (BART's projections all have one).
inline nn::Linear linear(WeightStore& w, const std::string& prefix, std::int64_t out, std::int64_t in) {
  return {w.get(prefix + "weight", {out, in}), w.get(prefix + "bias", {out})};
}

inline nn::Norm layer_norm(WeightStore& w, const std::string& prefix, std::int64_t d) {
  return {nn::NormKind::layer_norm, w.get(prefix + "weight", {d}), w.get(prefix + "bias", {d}), 1e-5f};
}

// BartAttention: HF multiplies q by head_dim^-0.5; qkv scales the scores, which is the same product.
inline nn::MultiHeadAttention attention(WeightStore& w, const std::string& prefix, std::int64_t d, std::int64_t heads) {
  if (d % heads != 0) fail(w.source(), ": ", prefix, ": ", heads, " heads do not divide d_model ", d);
  nn::MultiHeadAttention m;
  m.q_proj = linear(w, prefix + "q_proj.", d, d);
  m.k_proj = linear(w, prefix + "k_proj.", d, d);
  m.v_proj = linear(w, prefix + "v_proj.", d, d);
  m.out_proj = linear(w, prefix + "out_proj.", d, d);
  m.num_heads = m.num_kv_heads = heads;
  m.scale = float(std::pow(double(d / heads), -0.5));
  return m;
}

inline nn::FeedForward feed_forward(WeightStore& w, const std::string& prefix, std::int64_t d, std::int64_t ffn,
                                    Activation act) {
  nn::FeedForward f;
  f.up = linear(w, prefix + "fc1.", ffn, d);
  f.down = linear(w, prefix + "fc2.", d, ffn);
  f.activation = act;
  return f;
}

inline nn::EncoderBlock encoder_layer(WeightStore& w, const std::string& p, std::int64_t d, std::int64_t heads,
                                      std::int64_t ffn, Activation act) {
  return {attention(w, p + "self_attn.", d, heads), layer_norm(w, p + "self_attn_layer_norm.", d),
          feed_forward(w, p, d, ffn, act), layer_norm(w, p + "final_layer_norm.", d), nn::NormPlacement::post};
}

inline nn::DecoderBlock decoder_layer(WeightStore& w, const std::string& p, std::int64_t d, std::int64_t heads,
                                      std::int64_t ffn, Activation act) {
  return {attention(w, p + "self_attn.", d, heads),    layer_norm(w, p + "self_attn_layer_norm.", d),
          attention(w, p + "encoder_attn.", d, heads), layer_norm(w, p + "encoder_attn_layer_norm.", d),
          feed_forward(w, p, d, ffn, act),             layer_norm(w, p + "final_layer_norm.", d),
          nn::NormPlacement::post};
}

// Reads the fields BartConfig and MarianConfig share (with their common defaults) and the
// weights of dir/model.safetensors.
inline EncoderDecoderModel load(const std::string& dir, const io::JsonConfig& config, const Arch& arch) {
  TransformerConfig c;
  c.vocab_size = config.count_or("vocab_size", arch.default_vocab_size);
  c.d_model = config.count_or("d_model", 1024);
  c.encoder_layers = config.count_or("encoder_layers", 12, /*zero_ok=*/true);
  c.decoder_layers = config.count_or("decoder_layers", 12, /*zero_ok=*/true);
  c.num_heads = config.count_or("encoder_attention_heads", 16);
  c.ffn_dim = config.count_or("encoder_ffn_dim", 4096);
  const std::int64_t decoder_heads = config.count_or("decoder_attention_heads", 16);
  const std::int64_t decoder_ffn = config.count_or("decoder_ffn_dim", 4096);
  c.max_positions = config.count_or("max_position_embeddings", 1024);
  c.positions = arch.sinusoidal_positions ? PositionKind::sinusoidal : PositionKind::learned;
  c.sinusoid_layout = nn::SinusoidLayout::halves;
  c.embed_scale = config.boolean_or("scale_embedding", false) ? std::sqrt(float(c.d_model)) : 1.0f;
  c.activation = ops::parse_activation(config.string_or("activation_function", "gelu"),
                                       config.path() + ": \"activation_function\"");
  c.placement = nn::NormPlacement::post;
  auto check_heads = [&](std::int64_t heads, const char* name) {
    if (c.d_model % heads != 0) fail(config.path(), ": \"", name, "\" (", heads, ") does not divide d_model (", c.d_model, ")");
  };
  check_heads(c.num_heads, "encoder_attention_heads");
  check_heads(decoder_heads, "decoder_attention_heads");
  c.validate();
  const std::int64_t target_vocab = arch.separate_embeddings ? arch.decoder_vocab_size : c.vocab_size;
  const bool tied = config.boolean_or("tie_word_embeddings", true);

  auto w = std::make_shared<WeightStore>(io::Checkpoint::open_dir(dir));
  EncoderDecoderModel m{};
  m.config = c;
  m.weights = w;
  const std::string enc = "model.encoder.", dec = "model.decoder.";
  TensorView<const float> encoder_embedding, decoder_embedding;
  if (arch.separate_embeddings) {
    encoder_embedding = w->get(enc + "embed_tokens.weight", {c.vocab_size, c.d_model});
    decoder_embedding = w->get(dec + "embed_tokens.weight", {target_vocab, c.d_model});
    if (tied) w->ignore("lm_head.weight");
  } else {
    std::vector<std::string> names = {"model.shared.weight", enc + "embed_tokens.weight", dec + "embed_tokens.weight"};
    if (tied) names.push_back("lm_head.weight");
    encoder_embedding = decoder_embedding = w->get(first_stored(*w, names), {c.vocab_size, c.d_model});
  }
  m.encoder_input.tokens = {encoder_embedding, c.embed_scale};
  m.decoder_input.tokens = {decoder_embedding, c.embed_scale};

  if (arch.sinusoidal_positions) {
    // Marian's MarianSinusoidalPositionalEmbedding is not saved (HF recomputes it); older files
    // that still store it are read as stored.
    const Shape shape{c.max_positions, c.d_model};
    TensorView<const float> computed;  // one table for both stacks
    auto table = [&](const std::string& name) {
      if (w->contains(name)) return w->get(name, shape);
      if (computed.empty())
        computed = w->keep("embed_positions (sinusoidal)", nn::sinusoidal_table(c.max_positions, c.d_model, c.sinusoid_layout));
      return computed;
    };
    m.encoder_input.positions = {table(enc + "embed_positions.weight"), 0};
    m.decoder_input.positions = {table(dec + "embed_positions.weight"), 0};
  } else {
    // BartLearnedPositionalEmbedding: rows 0 and 1 are unused, position p reads row p + 2.
    const Shape shape{c.max_positions + 2, c.d_model};
    m.encoder_input.positions = {w->get(enc + "embed_positions.weight", shape), 2};
    m.decoder_input.positions = {w->get(dec + "embed_positions.weight", shape), 2};
  }
  if (arch.layernorm_embedding) {
    m.encoder_input.norm = layer_norm(*w, enc + "layernorm_embedding.", c.d_model);
    m.decoder_input.norm = layer_norm(*w, dec + "layernorm_embedding.", c.d_model);
  }

  for (std::int64_t i = 0; i < c.encoder_layers; ++i)
    m.encoder.layers.push_back(
        encoder_layer(*w, enc + "layers." + std::to_string(i) + ".", c.d_model, c.num_heads, c.ffn_dim, c.activation));
  for (std::int64_t i = 0; i < c.decoder_layers; ++i)
    m.decoder.layers.push_back(
        decoder_layer(*w, dec + "layers." + std::to_string(i) + ".", c.d_model, decoder_heads, decoder_ffn, c.activation));

  m.lm_head.linear.weight = tied ? decoder_embedding : w->get("lm_head.weight", {target_vocab, c.d_model});
  // final_logits_bias is a buffer HF zero-fills when a file lacks it (_keys_to_ignore_on_load_missing).
  if (const auto bias = w->get_optional("final_logits_bias", {1, target_vocab}); !bias.empty())
    m.lm_head.logits_bias = bias.reshape({target_vocab});
  w->expect_all_used("check encoder_layers, decoder_layers and tie_word_embeddings");
  return m;
}

}  // namespace qkv::hf::bart_layout
