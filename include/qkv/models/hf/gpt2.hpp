#pragma once
// Hugging Face GPT-2 (model_type "gpt2": GPT2LMHeadModel, GPT2Model) -> DecoderModel.
//
//   [transformer.]wte.weight [V, d], wpe.weight [P, d]      token and learned position embeddings
//   [transformer.]h.N.ln_1, attn.c_attn [d, 3d], attn.c_proj [d, d]
//                 h.N.ln_2, mlp.c_fc [d, ffn], mlp.c_proj [ffn, d]    (pre-LN blocks)
//   [transformer.]ln_f                                      final LayerNorm
//   lm_head.weight [V, d]                                   only when untied; else wte
//
// Checkpoints saved from GPT2LMHeadModel prefix the body with "transformer."; the original OpenAI
// ones on the Hub do not, and also store the h.N.attn.bias / masked_bias mask buffers.
#include <cmath>
#include <memory>
#include <string>

#include "qkv/io/json_config.hpp"
#include "qkv/models/decoder_model.hpp"
#include "qkv/ops/activation.hpp"

namespace qkv::hf {

namespace gpt2_detail {

// HF's Conv1D stores its weight as [in, out] (y = x W + b): the layout GEMM panels are cut from,
// so it is packed straight from the file (no transposed copy).
inline nn::Linear conv1d(WeightStore& w, const std::string& prefix, std::int64_t in, std::int64_t out) {
  const std::string name = prefix + "weight";
  const auto stored = w.get(name, {in, out});
  nn::Linear linear;
  linear.packed = ops::packed_view(w.keep(name + "#packed", ops::pack_weight(stored, /*k_major=*/true)), out);
  linear.bias = w.get(prefix + "bias", {out});
  w.release(stored);  // the raw copy is not needed
  return linear;
}

inline nn::Norm layer_norm(WeightStore& w, const std::string& prefix, const TransformerConfig& c) {
  return {nn::NormKind::layer_norm, w.get(prefix + "weight", {c.d_model}), w.get(prefix + "bias", {c.d_model}), c.norm_eps};
}

}  // namespace gpt2_detail

// config.json -> TransformerConfig. Absent fields take GPT2Config's defaults, as from_pretrained does.
inline TransformerConfig gpt2_config(const io::JsonConfig& config) {
  TransformerConfig c;
  c.vocab_size = config.count_or("vocab_size", 50257);
  c.d_model = config.count_or("n_embd", 768);
  c.num_heads = config.count_or("n_head", 12);
  c.decoder_layers = config.count_or("n_layer", 12, /*zero_ok=*/true);
  c.max_positions = config.count_or("n_positions", 1024);
  c.ffn_dim = config.count_or("n_inner", 4 * c.d_model);  // null means 4 * n_embd (HF GPT2MLP)
  c.activation = ops::parse_activation(config.string_or("activation_function", "gelu_new"),
                                       config.path() + ": \"activation_function\"");
  c.norm_eps = float(config.number_or("layer_norm_epsilon", 1e-5));
  c.positions = PositionKind::learned;
  c.placement = nn::NormPlacement::pre;
  c.final_norm = true;
  if (c.d_model % c.num_heads != 0)
    fail(config.path(), ": \"n_head\" (", c.num_heads, ") does not divide \"n_embd\" (", c.d_model, ")");
  if (!(c.norm_eps >= 0.0f)) fail(config.path(), ": \"layer_norm_epsilon\" must be >= 0, got ", c.norm_eps);
  // GPT-2 as the decoder of an encoder-decoder model has cross-attention blocks qkv does not build.
  if (config.boolean_or("add_cross_attention", false))
    fail(config.path(), ": \"add_cross_attention\": true is not supported for gpt2");
  c.validate();
  return c;
}

// Loads dir/model.safetensors as described by config (dir/config.json).
inline DecoderModel load_gpt2(const std::string& dir, const io::JsonConfig& config) {
  const TransformerConfig c = gpt2_config(config);
  const bool scale_weights = config.boolean_or("scale_attn_weights", true);
  const bool by_layer = config.boolean_or("scale_attn_by_inverse_layer_idx", false);
  const bool tied = config.boolean_or("tie_word_embeddings", true);

  auto w = std::make_shared<WeightStore>(io::Checkpoint::open_dir(dir));
  const std::string p = w->contains("transformer.wte.weight") ? "transformer." : "";
  const std::int64_t d = c.d_model;

  DecoderModel m{c, w, {}, {}, {}};
  m.input.tokens = {w->get(p + "wte.weight", {c.vocab_size, d}), 1.0f};
  m.input.positions.table = w->get(p + "wpe.weight", {c.max_positions, d});

  for (std::int64_t i = 0; i < c.decoder_layers; ++i) {
    const std::string h = p + "h." + std::to_string(i) + ".";
    nn::EncoderBlock b;
    b.placement = nn::NormPlacement::pre;
    b.self_attn_norm = gpt2_detail::layer_norm(*w, h + "ln_1.", c);
    // c_attn packs q | k | v along its output dimension (HF GPT2Attention.forward: split(split_size, dim=2)):
    // packed as attention's fused projection, straight from the file.
    {
      const std::string name = h + "attn.c_attn.weight";
      const auto stored = w->get(name, {d, 3 * d});
      const auto bias = w->get(h + "attn.c_attn.bias", {3 * d});
      pack_qkv(b.self_attn, {stored.narrow(1, 0, d), stored.narrow(1, d, d), stored.narrow(1, 2 * d, d)},
               {bias.narrow(0, 0, d), bias.narrow(0, d, d), bias.narrow(0, 2 * d, d)}, /*k_major=*/true,
               name + "#packed", *w);
    }
    b.self_attn.out_proj = gpt2_detail::conv1d(*w, h + "attn.c_proj.", d, d);
    b.self_attn.num_heads = b.self_attn.num_kv_heads = c.num_heads;
    // Matches HF GPT2Attention._attn: scores / sqrt(head_dim) when scale_attn_weights, then
    // / (layer_idx + 1) when scale_attn_by_inverse_layer_idx.
    float scale = scale_weights ? 1.0f / std::sqrt(float(c.head_dim())) : 1.0f;
    if (by_layer) scale /= float(i + 1);
    b.self_attn.scale = scale;
    b.ffn_norm = gpt2_detail::layer_norm(*w, h + "ln_2.", c);
    b.ffn.up = gpt2_detail::conv1d(*w, h + "mlp.c_fc.", d, c.ffn_dim);
    b.ffn.down = gpt2_detail::conv1d(*w, h + "mlp.c_proj.", c.ffn_dim, d);
    b.ffn.activation = c.activation;
    m.layers.layers.push_back(b);
    // The causal-mask buffers of older checkpoints: qkv builds the mask itself.
    w->ignore(h + "attn.bias");
    w->ignore(h + "attn.masked_bias");
  }
  m.layers.final_norm = gpt2_detail::layer_norm(*w, p + "ln_f.", c);

  // HF ties lm_head to wte after loading, so a stored lm_head.weight of a tied model is never used.
  if (tied) {
    m.lm_head.linear.weight = m.input.tokens.weight;
    w->ignore("lm_head.weight");
  } else {
    m.lm_head.linear.weight = w->get("lm_head.weight", {c.vocab_size, d});
  }
  w->expect_all_used("GPT-2 heads other than the LM head are not supported; check n_layer");
  return m;
}

}  // namespace qkv::hf
