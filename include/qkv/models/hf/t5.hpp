#pragma once
// Hugging Face T5 (T5ForConditionalGeneration, model_type "t5"): pre-norm blocks with an RMS
// norm (T5LayerNorm), no attention scaling, a relative position bias in the self-attentions
// (from block 0 of each stack) instead of absolute positions, and a final norm in both stacks.
//
//   shared.weight [V, d]                         token embedding of both stacks (encoder/decoder
//                                                .embed_tokens and, when tied, lm_head alias it)
//   {encoder,decoder}.block.N.layer.0.SelfAttention.{q,k,v}.weight [H*d_kv, d], .o.weight [d, H*d_kv]
//   {encoder,decoder}.block.0.layer.0.SelfAttention.relative_attention_bias.weight [buckets, H]
//   decoder.block.N.layer.1.EncDecAttention.{q,k,v,o}.weight
//   .layer.{1 (encoder), 2 (decoder)}.DenseReluDense.{wi, wo}.weight, or wi_0 / wi_1 when gated
//   .layer.K.layer_norm.weight, {encoder,decoder}.final_layer_norm.weight
//   lm_head.weight [V, d]                        only when tie_word_embeddings is false
#include <cmath>
#include <memory>
#include <string>

#include "qkv/io/json_config.hpp"
#include "qkv/models/encoder_decoder_model.hpp"
#include "qkv/models/hf/aliases.hpp"
#include "qkv/ops/activation.hpp"

namespace qkv::hf {

namespace t5 {

// The sizes every block needs (T5Config).
struct Shape {
  std::int64_t d_model = 0, d_kv = 0, heads = 0, d_ff = 0;
  float eps = 1e-6f;
  Activation activation = Activation::relu;
  bool gated = false;
};

inline nn::Norm norm(WeightStore& w, const std::string& name, const Shape& s) {
  return {nn::NormKind::rms_norm, w.get(name, {s.d_model}), {}, s.eps};
}

// T5Attention: no biases, and no 1/sqrt(d_kv) on the scores (T5 folds it into its initialisation).
inline nn::MultiHeadAttention attention(WeightStore& w, const std::string& prefix, const Shape& s) {
  const std::int64_t inner = s.heads * s.d_kv;
  nn::MultiHeadAttention m;
  m.q_proj.weight = w.get(prefix + "q.weight", {inner, s.d_model});
  m.k_proj.weight = w.get(prefix + "k.weight", {inner, s.d_model});
  m.v_proj.weight = w.get(prefix + "v.weight", {inner, s.d_model});
  m.out_proj.weight = w.get(prefix + "o.weight", {s.d_model, inner});
  m.num_heads = m.num_kv_heads = s.heads;
  m.scale = 1.0f;
  return m;
}

// T5DenseActDense: wo(act(wi x)); T5DenseGatedActDense: wo(act(wi_0 x) * wi_1 x).
inline nn::FeedForward feed_forward(WeightStore& w, const std::string& prefix, const Shape& s) {
  nn::FeedForward f;
  if (s.gated) {
    f.gate.weight = w.get(prefix + "wi_0.weight", {s.d_ff, s.d_model});
    f.up.weight = w.get(prefix + "wi_1.weight", {s.d_ff, s.d_model});
  } else {
    f.up.weight = w.get(prefix + "wi.weight", {s.d_ff, s.d_model});
  }
  f.down.weight = w.get(prefix + "wo.weight", {s.d_model, s.d_ff});
  f.activation = s.activation;
  return f;
}

// T5Config's activation: feed_forward_proj is "<act>" or "gated-<act>", and "gated-gelu" means
// gelu_new for backward compatibility. HF then overwrites the derived dense_act_fn / is_gated_act
// with the values config.json stores (PretrainedConfig sets leftover kwargs last), so they win.
inline void read_activation(const io::JsonConfig& config, Shape& s) {
  const std::string proj = config.string_or("feed_forward_proj", "relu");
  const auto dash = proj.find('-');
  const bool gated = dash != std::string::npos && proj.compare(0, dash, "gated") == 0;
  if ((dash != std::string::npos && !gated) || (gated && proj.find('-', dash + 1) != std::string::npos))
    fail(config.path(), ": \"feed_forward_proj\" '", proj, "' must be '<activation>' or 'gated-<activation>'");
  std::string act = gated ? proj.substr(dash + 1) : proj;
  if (proj == "gated-gelu") act = "gelu_new";
  std::string what = config.path() + ": \"feed_forward_proj\" '" + proj + "'";
  if (config.has("dense_act_fn")) {
    act = config.string("dense_act_fn");
    what = config.path() + ": \"dense_act_fn\"";
  }
  s.activation = ops::parse_activation(act, what);
  s.gated = config.boolean_or("is_gated_act", gated);
}

inline nn::EncoderBlock encoder_block(WeightStore& w, const std::string& p, const Shape& s) {
  return {attention(w, p + "layer.0.SelfAttention.", s), norm(w, p + "layer.0.layer_norm.weight", s),
          feed_forward(w, p + "layer.1.DenseReluDense.", s), norm(w, p + "layer.1.layer_norm.weight", s),
          nn::NormPlacement::pre};
}

inline nn::DecoderBlock decoder_block(WeightStore& w, const std::string& p, const Shape& s) {
  return {attention(w, p + "layer.0.SelfAttention.", s),    norm(w, p + "layer.0.layer_norm.weight", s),
          attention(w, p + "layer.1.EncDecAttention.", s),  norm(w, p + "layer.1.layer_norm.weight", s),
          feed_forward(w, p + "layer.2.DenseReluDense.", s), norm(w, p + "layer.2.layer_norm.weight", s),
          nn::NormPlacement::pre};
}

}  // namespace t5

// Defaults are T5Config's, as from_pretrained applies them to fields config.json lacks.
inline EncoderDecoderModel load_t5(const std::string& dir, const io::JsonConfig& config) {
  t5::Shape s;
  s.d_model = config.count_or("d_model", 512);
  s.d_kv = config.count_or("d_kv", 64);
  s.heads = config.count_or("num_heads", 8);
  s.d_ff = config.count_or("d_ff", 2048);
  s.eps = float(config.number_or("layer_norm_epsilon", 1e-6));
  if (!(s.eps >= 0.0f)) fail(config.path(), ": \"layer_norm_epsilon\" must be >= 0, got ", s.eps);
  t5::read_activation(config, s);
  const std::int64_t buckets = config.count_or("relative_attention_num_buckets", 32);
  const std::int64_t max_distance = config.count_or("relative_attention_max_distance", 128);
  try {
    nn::check_relative_buckets(buckets, max_distance, /*bidirectional=*/true);  // the stricter of the two
  } catch (const Error& e) {
    fail(config.path(), " (relative_attention_num_buckets / relative_attention_max_distance): ", e.what());
  }

  TransformerConfig c;
  c.vocab_size = config.count_or("vocab_size", 32128);
  c.d_model = s.d_model;
  c.num_heads = s.heads;
  c.head_size = s.d_kv;
  c.ffn_dim = s.d_ff;
  c.encoder_layers = config.count_or("num_layers", 6);
  c.decoder_layers = config.count_or("num_decoder_layers", c.encoder_layers);
  c.positions = PositionKind::none;
  c.activation = s.activation;
  c.gated_ffn = s.gated;
  c.norm = nn::NormKind::rms_norm;
  c.norm_eps = s.eps;
  c.placement = nn::NormPlacement::pre;
  c.final_norm = true;
  c.validate();
  const bool tied = config.boolean_or("tie_word_embeddings", true);

  auto w = std::make_shared<WeightStore>(io::Checkpoint::open_dir(dir));
  EncoderDecoderModel m{};
  m.config = c;
  m.weights = w;
  std::vector<std::string> embedding_names = {"shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"};
  if (tied) embedding_names.push_back("lm_head.weight");
  const auto embedding = w->get(first_stored(*w, embedding_names), {c.vocab_size, c.d_model});
  m.encoder_input.tokens = m.decoder_input.tokens = {embedding, 1.0f};

  for (std::int64_t i = 0; i < c.encoder_layers; ++i)
    m.encoder.layers.push_back(t5::encoder_block(*w, "encoder.block." + std::to_string(i) + ".", s));
  for (std::int64_t i = 0; i < c.decoder_layers; ++i)
    m.decoder.layers.push_back(t5::decoder_block(*w, "decoder.block." + std::to_string(i) + ".", s));
  m.encoder.final_norm = t5::norm(*w, "encoder.final_layer_norm.weight", s);
  m.decoder.final_norm = t5::norm(*w, "decoder.final_layer_norm.weight", s);
  const std::string table = "block.0.layer.0.SelfAttention.relative_attention_bias.weight";
  m.encoder_position_bias = {w->get("encoder." + table, {buckets, s.heads}), /*bidirectional=*/true, max_distance};
  m.decoder_position_bias = {w->get("decoder." + table, {buckets, s.heads}), /*bidirectional=*/false, max_distance};

  // T5ForConditionalGeneration: a tied head rescales the hidden states by d_model^-0.5 first.
  if (tied)
    m.lm_head = {{embedding, {}}, {}, float(std::pow(double(s.d_model), -0.5))};
  else
    m.lm_head = {{w->get("lm_head.weight", {c.vocab_size, c.d_model}), {}}, {}, 1.0f};
  w->expect_all_used("check num_layers, num_decoder_layers, feed_forward_proj and tie_word_embeddings");
  return m;
}

}  // namespace qkv::hf
