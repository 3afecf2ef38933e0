#pragma once
// Hugging Face LLaMA (LlamaForCausalLM, model_type "llama"; transformers' modeling_llama.py):
// pre-RMSNorm decoder layers, rotary position embeddings on q and k, grouped-query attention and a
// SwiGLU MLP down(act(gate x) * up x). No position table. Weights (nn.Linear layout [out, in]):
//   model.embed_tokens.weight                          [V, d]
//   model.layers.N.input_layernorm.weight              [d]   before attention
//   model.layers.N.self_attn.q_proj.weight             [H * hd, d]     (+ .bias with attention_bias)
//   model.layers.N.self_attn.{k,v}_proj.weight         [H_kv * hd, d]  (+ .bias)
//   model.layers.N.self_attn.o_proj.weight             [d, H * hd]     (+ .bias)
//   model.layers.N.post_attention_layernorm.weight     [d]   before the MLP
//   model.layers.N.mlp.{gate,up}_proj.weight           [ffn, d]        (+ .bias with mlp_bias)
//   model.layers.N.mlp.down_proj.weight                [d, ffn]        (+ .bias)
//   model.norm.weight                                  [d]
//   lm_head.weight                                     [V, d]; with tie_word_embeddings the head is
//                                                      model.embed_tokens.weight and is not stored
#include <cmath>
#include <memory>
#include <string>

#include "qkv/io/json_config.hpp"
#include "qkv/models/decoder_model.hpp"
#include "qkv/ops/activation.hpp"

namespace qkv::hf {

// config.json's "rope_scaling" (absent or null = none). The type is "rope_type", or "type" in
// configs written before transformers 4.42; the fields are the ones modeling_rope_utils reads.
inline nn::RopeScaling rope_scaling_from(const io::JsonConfig& config) {
  nn::RopeScaling s;
  const auto rs = config.object_or_none("rope_scaling");
  if (!rs) return s;
  if (!rs->has("rope_type") && !rs->has("type")) fail(rs->path(), ": missing \"rope_type\" (or \"type\")");
  const std::string type = rs->has("rope_type") ? rs->string("rope_type") : rs->string("type");
  if (type == "default") return s;
  if (type == "linear")
    s.type = nn::RopeType::linear;
  else if (type == "dynamic")
    s.type = nn::RopeType::dynamic;
  else if (type == "llama3")
    s.type = nn::RopeType::llama3;
  else if (type == "yarn")
    s.type = nn::RopeType::yarn;
  else
    fail(rs->path(), ": unsupported rope_scaling type '", type, "' (supported: default, linear, dynamic, llama3, yarn)");
  s.factor = rs->number("factor");
  if (s.type == nn::RopeType::llama3) {
    s.original_max_positions = rs->count("original_max_position_embeddings");
    s.low_freq_factor = rs->number("low_freq_factor");
    s.high_freq_factor = rs->number("high_freq_factor");
  } else if (s.type == nn::RopeType::yarn) {
    s.original_max_positions = rs->count_or("original_max_position_embeddings", 0);
    s.beta_fast = rs->number_or("beta_fast", 32.0);
    s.beta_slow = rs->number_or("beta_slow", 1.0);
    if (rs->has("attention_factor")) s.attention_factor = rs->number("attention_factor");
    s.mscale = rs->number_or("mscale", 0.0);
    s.mscale_all_dim = rs->number_or("mscale_all_dim", 0.0);
    s.truncate = rs->boolean_or("truncate", true);
  }
  return s;
}

// Defaults are LlamaConfig's for the fields a saved config.json may leave out.
inline DecoderModel load_llama(const std::string& dir, const io::JsonConfig& config) {
  TransformerConfig c;
  c.vocab_size = config.count("vocab_size");
  c.d_model = config.count("hidden_size");
  c.ffn_dim = config.count("intermediate_size");
  c.decoder_layers = config.count("num_hidden_layers", /*zero_ok=*/true);
  c.num_heads = config.count("num_attention_heads");
  c.num_kv_heads = config.count_or("num_key_value_heads", c.num_heads);
  if (config.has("head_dim"))
    c.head_size = config.count("head_dim");  // q_proj is [heads * head_dim, hidden]: need not equal hidden
  else if (c.d_model % c.num_heads != 0)
    fail(config.path(), ": num_attention_heads (", c.num_heads, ") does not divide hidden_size (", c.d_model,
         ") and there is no head_dim");
  if (c.num_heads % c.num_kv_heads != 0)
    fail(config.path(), ": num_key_value_heads (", c.num_kv_heads, ") does not divide num_attention_heads (", c.num_heads, ")");
  c.max_positions = config.count_or("max_position_embeddings", 2048);
  c.positions = PositionKind::none;  // rotary embeddings in every attention layer instead
  c.activation = ops::parse_activation(config.string_or("hidden_act", "silu"), config.path() + " \"hidden_act\"");
  c.gated_ffn = true;
  c.norm = nn::NormKind::rms_norm;
  c.norm_eps = float(config.number_or("rms_norm_eps", 1e-6));
  c.placement = nn::NormPlacement::pre;
  c.final_norm = true;
  c.validate();

  const std::int64_t d = c.d_model, hd = c.head_dim(), heads = c.num_heads, kv_heads = c.kv_heads(), ffn = c.ffn_dim;
  const nn::RopeScaling scaling = rope_scaling_from(config);
  const double theta = config.number_or("rope_theta", 10000.0);
  nn::RotaryEmbedding rotary;
  try {
    rotary = nn::RotaryEmbedding::make(hd, theta, c.max_positions, scaling);
  } catch (const Error& e) {
    fail(config.path(), ": ", e.what());
  }
  const bool attention_bias = config.boolean_or("attention_bias", false);
  const bool mlp_bias = config.boolean_or("mlp_bias", false);

  auto w = std::make_shared<WeightStore>(io::Checkpoint::open_dir(dir));
  auto linear = [&](const std::string& prefix, std::int64_t out, std::int64_t in, bool bias) {
    return nn::Linear{w->get(prefix + "weight", {out, in}), bias ? w->get(prefix + "bias", {out}) : TensorView<const float>()};
  };
  auto rms_norm = [&](const std::string& name) { return nn::Norm{c.norm, w->get(name, {d}), {}, c.norm_eps}; };

  TokenInput input;
  input.tokens = {w->get("model.embed_tokens.weight", {c.vocab_size, d}), 1.0f};
  EncoderStack layers;  // run causally by DecoderModel
  for (std::int64_t i = 0; i < c.decoder_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    nn::EncoderBlock block;
    nn::MultiHeadAttention& attn = block.self_attn;
    attn.q_proj = linear(p + "self_attn.q_proj.", heads * hd, d, attention_bias);
    attn.k_proj = linear(p + "self_attn.k_proj.", kv_heads * hd, d, attention_bias);
    attn.v_proj = linear(p + "self_attn.v_proj.", kv_heads * hd, d, attention_bias);
    attn.out_proj = linear(p + "self_attn.o_proj.", d, heads * hd, attention_bias);
    attn.num_heads = heads;
    attn.num_kv_heads = kv_heads;
    attn.scale = float(1.0 / std::sqrt(double(hd)));
    attn.rotary = rotary;
    w->ignore(p + "self_attn.rotary_emb.inv_freq");  // a buffer older checkpoints stored; HF recomputes it
    block.self_attn_norm = rms_norm(p + "input_layernorm.weight");
    block.ffn.gate = linear(p + "mlp.gate_proj.", ffn, d, mlp_bias);
    block.ffn.up = linear(p + "mlp.up_proj.", ffn, d, mlp_bias);
    block.ffn.down = linear(p + "mlp.down_proj.", d, ffn, mlp_bias);
    block.ffn.activation = c.activation;
    block.ffn_norm = rms_norm(p + "post_attention_layernorm.weight");
    block.placement = c.placement;
    layers.layers.push_back(std::move(block));
  }
  layers.final_norm = rms_norm("model.norm.weight");

  nn::LmHead head;
  if (config.boolean_or("tie_word_embeddings", false)) {
    head.linear.weight = input.tokens.weight;
    w->ignore("lm_head.weight");  // a stored copy is overwritten by HF's tie_weights()
  } else {
    if (!w->contains("lm_head.weight"))
      fail(w->source(), ": no tensor 'lm_head.weight' (", config.path(), " has tie_word_embeddings false)");
    head.linear.weight = w->get("lm_head.weight", {c.vocab_size, d});
  }
  DecoderModel model{c, w, std::move(input), std::move(layers), head};
  w->expect_all_used("check num_hidden_layers, attention_bias, mlp_bias and tie_word_embeddings in " + config.path());
  return model;
}

}  // namespace qkv::hf
