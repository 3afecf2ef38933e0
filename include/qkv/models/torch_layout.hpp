#pragma once
// Builds models from PyTorch's own module names: nn.MultiheadAttention, nn.TransformerEncoderLayer,
// nn.TransformerDecoderLayer and nn.Transformer state dicts, plus the embedding and head names
// qkv's own models use:
//   embed_tokens.weight [V, d]          token embedding (shared by encoder and decoder)
//   embed_positions.weight [P, d]       learned positions (sinusoidal ones are computed)
//   layers.N.*  (encoder-only, decoder-only)   encoder.layers.N.*, decoder.layers.N.* (seq2seq)
//   norm.*  /  encoder.norm.*, decoder.norm.*  final norms, when config.final_norm
//   lm_head.weight [V, d]               tied to embed_tokens when absent
//   classifier.weight [C, d], classifier.bias [C]
#include <cmath>
#include <memory>
#include <string>

#include "qkv/models/decoder_model.hpp"
#include "qkv/models/encoder_decoder_model.hpp"
#include "qkv/models/encoder_model.hpp"

namespace qkv::torch_layout {

inline nn::Linear linear(WeightStore& w, const std::string& prefix, std::int64_t out, std::int64_t in) {
  return {w.get(prefix + "weight", {out, in}), w.get_optional(prefix + "bias", {out})};
}

inline nn::Norm norm(WeightStore& w, const std::string& prefix, const TransformerConfig& c) {
  return {c.norm, w.get(prefix + "weight", {c.d_model}),
          c.norm == nn::NormKind::layer_norm ? w.get_optional(prefix + "bias", {c.d_model}) : TensorView<const float>(),
          c.norm_eps};
}

// nn.MultiheadAttention: a packed in_proj_weight [3d, d], or q/k/v_proj_weight when kdim/vdim
// differ from d; in_proj_bias [3d] and out_proj.* either way (biases optional: bias=False).
inline nn::MultiHeadAttention multi_head_attention(WeightStore& w, const std::string& prefix, std::int64_t d,
                                                   std::int64_t heads) {
  nn::MultiHeadAttention m;
  const std::string packed = prefix + "in_proj_weight";
  if (w.contains(packed)) {
    const auto in_proj = w.get(packed, {3 * d, d});
    m.q_proj.weight = in_proj.narrow(0, 0, d);
    m.k_proj.weight = in_proj.narrow(0, d, d);
    m.v_proj.weight = in_proj.narrow(0, 2 * d, d);
  } else {
    if (!w.contains(prefix + "q_proj_weight"))
      fail(w.source(), ": no tensor '", packed, "' (or '", prefix, "q_proj_weight' with k/v_proj_weight)");
    m.q_proj.weight = w.get(prefix + "q_proj_weight", {d, d});
    m.k_proj.weight = w.get(prefix + "k_proj_weight", {d, w.shape_of(prefix + "k_proj_weight")[1]});
    m.v_proj.weight = w.get(prefix + "v_proj_weight", {d, w.shape_of(prefix + "v_proj_weight")[1]});
  }
  if (const auto bias = w.get_optional(prefix + "in_proj_bias", {3 * d}); !bias.empty()) {
    m.q_proj.bias = bias.narrow(0, 0, d);
    m.k_proj.bias = bias.narrow(0, d, d);
    m.v_proj.bias = bias.narrow(0, 2 * d, d);
  }
  m.out_proj = linear(w, prefix + "out_proj.", d, d);
  if (heads <= 0 || d % heads != 0) fail(prefix, "attention: ", heads, " heads do not divide width ", d);
  m.num_heads = m.num_kv_heads = heads;
  m.scale = 1.0f / std::sqrt(float(d / heads));
  return m;
}

inline nn::FeedForward feed_forward(WeightStore& w, const std::string& prefix, const TransformerConfig& c) {
  nn::FeedForward f;
  f.up = linear(w, prefix + "linear1.", c.ffn_dim, c.d_model);
  f.down = linear(w, prefix + "linear2.", c.d_model, c.ffn_dim);
  f.activation = c.activation;
  return f;
}

// nn.TransformerEncoderLayer: self_attn, linear1, linear2, norm1, norm2.
inline nn::EncoderBlock encoder_block(WeightStore& w, const std::string& prefix, const TransformerConfig& c) {
  return {multi_head_attention(w, prefix + "self_attn.", c.d_model, c.num_heads), norm(w, prefix + "norm1.", c),
          feed_forward(w, prefix, c), norm(w, prefix + "norm2.", c), c.placement};
}

// nn.TransformerDecoderLayer: self_attn, multihead_attn, linear1, linear2, norm1..3.
inline nn::DecoderBlock decoder_block(WeightStore& w, const std::string& prefix, const TransformerConfig& c) {
  return {multi_head_attention(w, prefix + "self_attn.", c.d_model, c.num_heads),
          norm(w, prefix + "norm1.", c),
          multi_head_attention(w, prefix + "multihead_attn.", c.d_model, c.num_heads),
          norm(w, prefix + "norm2.", c),
          feed_forward(w, prefix, c),
          norm(w, prefix + "norm3.", c),
          c.placement};
}

// `layers` blocks under prefix + "layers.N.", and prefix + "norm." when config.final_norm.
inline EncoderStack encoder_stack(WeightStore& w, const std::string& prefix, std::int64_t layers, const TransformerConfig& c) {
  EncoderStack s;
  for (std::int64_t i = 0; i < layers; ++i) s.layers.push_back(encoder_block(w, prefix + "layers." + std::to_string(i) + ".", c));
  if (c.final_norm) s.final_norm = norm(w, prefix + "norm.", c);
  return s;
}

inline DecoderStack decoder_stack(WeightStore& w, const std::string& prefix, const TransformerConfig& c) {
  DecoderStack s;
  for (std::int64_t i = 0; i < c.decoder_layers; ++i)
    s.layers.push_back(decoder_block(w, prefix + "layers." + std::to_string(i) + ".", c));
  if (c.final_norm) s.final_norm = norm(w, prefix + "norm.", c);
  return s;
}

inline TokenInput token_input(WeightStore& w, const TransformerConfig& c) {
  TokenInput in;
  in.tokens = {w.get("embed_tokens.weight", {c.vocab_size, c.d_model}), c.embed_scale};
  if (c.positions == PositionKind::learned)
    in.positions.table = w.get("embed_positions.weight", {c.max_positions, c.d_model});
  else if (c.positions == PositionKind::sinusoidal)
    in.positions.table = w.keep("embed_positions (sinusoidal)", nn::sinusoidal_table(c.max_positions, c.d_model, c.sinusoid_layout));
  return in;
}

inline nn::LmHead lm_head(WeightStore& w, const TransformerConfig& c) {
  const Shape shape{c.vocab_size, c.d_model};
  return {{w.contains("lm_head.weight") ? w.get("lm_head.weight", shape) : w.get("embed_tokens.weight", shape), {}}, {}};
}

// The model loaders fail if the file holds tensors the config did not use (e.g. nn.Transformer's
// encoder.norm with final_norm off), since ignoring them would silently change the results.
constexpr const char* kUnusedHint = "check the layer counts, final_norm, num_labels and positions";

inline EncoderModel load_encoder_model(std::shared_ptr<WeightStore> w, const TransformerConfig& c) {
  c.validate();
  EncoderModel m{c, w, token_input(*w, c), encoder_stack(*w, "", c.encoder_layers, c), {}, {}};
  if (c.num_labels > 0) m.classifier = linear(*w, "classifier.", c.num_labels, c.d_model);
  w->expect_all_used(kUnusedHint);
  return m;
}

inline DecoderModel load_decoder_model(std::shared_ptr<WeightStore> w, const TransformerConfig& c) {
  c.validate();
  DecoderModel m{c, w, token_input(*w, c), encoder_stack(*w, "", c.decoder_layers, c), lm_head(*w, c)};
  w->expect_all_used(kUnusedHint);
  return m;
}

inline EncoderDecoderModel load_encoder_decoder_model(std::shared_ptr<WeightStore> w, const TransformerConfig& c) {
  c.validate();
  const TokenInput input = token_input(*w, c);
  EncoderDecoderModel m{c, w, input, input, encoder_stack(*w, "encoder.", c.encoder_layers, c),
                        decoder_stack(*w, "decoder.", c), lm_head(*w, c)};
  w->expect_all_used(kUnusedHint);
  return m;
}

}  // namespace qkv::torch_layout
