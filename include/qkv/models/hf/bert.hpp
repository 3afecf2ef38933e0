#pragma once
// Hugging Face BERT (model_type "bert": BertModel, BertForMaskedLM, BertForPreTraining,
// BertForSequenceClassification) -> EncoderModel.
//
//   [bert.]embeddings.{word,position,token_type}_embeddings.weight, embeddings.LayerNorm
//   [bert.]encoder.layer.N.attention.self.{query,key,value}, attention.output.{dense,LayerNorm},
//          intermediate.dense, output.{dense,LayerNorm}                          (post-LN layers)
//   [bert.]pooler.dense                                       optional: tanh(dense(h[:, 0]))
//   cls.predictions.transform.{dense,LayerNorm}, cls.predictions.bias         masked-LM head,
//   cls.predictions.decoder.weight (only when untied; else the word embeddings)
//   classifier [num_labels, d]                                on the pooled output
//
// BertModel saves its keys without a prefix; the models with heads nest the encoder under "bert.".
#include <cmath>
#include <memory>
#include <string>

#include "qkv/io/json_config.hpp"
#include "qkv/models/encoder_model.hpp"
#include "qkv/ops/activation.hpp"

namespace qkv::hf {

namespace bert_detail {

inline nn::Linear linear(WeightStore& w, const std::string& prefix, std::int64_t out, std::int64_t in) {
  return {w.get(prefix + "weight", {out, in}), w.get(prefix + "bias", {out})};
}

// Checkpoints converted from Google's TensorFlow BERT (e.g. bert-base-uncased) name LayerNorm
// parameters gamma/beta; HF's from_pretrained renames them (PreTrainedModel._fix_key).
inline nn::Norm layer_norm(WeightStore& w, const std::string& prefix, const TransformerConfig& c) {
  const bool tf_names = !w.contains(prefix + "weight") && w.contains(prefix + "gamma");
  return {nn::NormKind::layer_norm, w.get(prefix + (tf_names ? "gamma" : "weight"), {c.d_model}),
          w.get(prefix + (tf_names ? "beta" : "bias"), {c.d_model}), c.norm_eps};
}

// One BertLayer: BertSelfAttention, BertSelfOutput (dense, residual, LayerNorm), BertIntermediate,
// BertOutput (dense, residual, LayerNorm) -- post-LN.
inline nn::EncoderBlock layer(WeightStore& w, const std::string& prefix, const TransformerConfig& c) {
  const std::int64_t d = c.d_model;
  nn::EncoderBlock b;
  b.placement = nn::NormPlacement::post;
  b.self_attn.q_proj = linear(w, prefix + "attention.self.query.", d, d);
  b.self_attn.k_proj = linear(w, prefix + "attention.self.key.", d, d);
  b.self_attn.v_proj = linear(w, prefix + "attention.self.value.", d, d);
  b.self_attn.out_proj = linear(w, prefix + "attention.output.dense.", d, d);
  b.self_attn.num_heads = b.self_attn.num_kv_heads = c.num_heads;
  b.self_attn.scale = 1.0f / std::sqrt(float(c.head_dim()));  // BertSelfAttention: scores / sqrt(head_size)
  b.self_attn_norm = layer_norm(w, prefix + "attention.output.LayerNorm.", c);
  b.ffn.up = linear(w, prefix + "intermediate.dense.", c.ffn_dim, d);
  b.ffn.down = linear(w, prefix + "output.dense.", d, c.ffn_dim);
  b.ffn.activation = c.activation;
  b.ffn_norm = layer_norm(w, prefix + "output.LayerNorm.", c);
  return b;
}

// The classes of a sequence-classification head: len(id2label) when present (HF serializes
// id2label, not num_labels), else num_labels, else PretrainedConfig's default of 2.
inline std::int64_t num_labels(const io::JsonConfig& config) {
  if (const auto labels = config.object_or_none("id2label")) {
    if (labels->json().empty()) fail(config.path(), ": \"id2label\" is empty");
    return std::int64_t(labels->json().size());
  }
  return config.count_or("num_labels", 2);
}

}  // namespace bert_detail

// config.json -> TransformerConfig (without the head). Absent fields take BertConfig's defaults.
inline TransformerConfig bert_config(const io::JsonConfig& config) {
  TransformerConfig c;
  c.vocab_size = config.count_or("vocab_size", 30522);
  c.d_model = config.count_or("hidden_size", 768);
  c.num_heads = config.count_or("num_attention_heads", 12);
  c.encoder_layers = config.count_or("num_hidden_layers", 12, /*zero_ok=*/true);
  c.ffn_dim = config.count_or("intermediate_size", 3072);
  c.max_positions = config.count_or("max_position_embeddings", 512);
  c.activation = ops::parse_activation(config.string_or("hidden_act", "gelu"), config.path() + ": \"hidden_act\"");
  c.norm_eps = float(config.number_or("layer_norm_eps", 1e-12));
  c.positions = PositionKind::learned;
  c.placement = nn::NormPlacement::post;
  if (c.d_model % c.num_heads != 0)
    fail(config.path(), ": \"num_attention_heads\" (", c.num_heads, ") does not divide \"hidden_size\" (", c.d_model, ")");
  if (!(c.norm_eps >= 0.0f)) fail(config.path(), ": \"layer_norm_eps\" must be >= 0, got ", c.norm_eps);
  // relative_key(_query) add learned distance embeddings to the scores, which qkv does not build.
  if (const std::string kind = config.string_or("position_embedding_type", "absolute"); kind != "absolute")
    fail(config.path(), ": \"position_embedding_type\" '", kind, "' is not supported (only 'absolute')");
  // BertLMHeadModel / BERT as a seq2seq decoder: causal masks and cross-attention.
  if (config.boolean_or("is_decoder", false)) fail(config.path(), ": \"is_decoder\": true is not supported for bert");
  if (config.boolean_or("add_cross_attention", false))
    fail(config.path(), ": \"add_cross_attention\": true is not supported for bert");
  c.validate();
  return c;
}

// Loads dir/model.safetensors as described by config (dir/config.json). The heads are those the
// file stores: a pooler, then either the masked-LM head or a classifier on the pooled output.
inline EncoderModel load_bert(const std::string& dir, const io::JsonConfig& config) {
  TransformerConfig c = bert_config(config);
  auto w = std::make_shared<WeightStore>(io::Checkpoint::open_dir(dir));
  const std::string p = w->contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
  const std::int64_t d = c.d_model;

  const bool mlm = w->contains("cls.predictions.transform.dense.weight");
  const bool classifier = w->contains("classifier.weight");
  const bool pooler = w->contains(p + "pooler.dense.weight");
  // BertForTokenClassification also has classifier.*, but per token and without a pooler.
  if (classifier && !pooler)
    fail(w->source(), ": 'classifier.weight' without '", p, "pooler.dense.weight': only sequence classification ",
         "(BertForSequenceClassification) is supported");
  if (mlm && classifier) fail(w->source(), ": holds both a masked-LM head and a classifier; expected one head");
  if (classifier) c.num_labels = bert_detail::num_labels(config);

  EncoderModel m{c, w, {}, {}, {}, {}};
  const std::string e = p + "embeddings.";
  m.input.tokens = {w->get(e + "word_embeddings.weight", {c.vocab_size, d}), 1.0f};
  const std::int64_t type_vocab = config.count_or("type_vocab_size", 2);
  m.input.token_types = {w->get(e + "token_type_embeddings.weight", {type_vocab, d}), 1.0f};
  m.input.positions.table = w->get(e + "position_embeddings.weight", {c.max_positions, d});
  m.input.norm = bert_detail::layer_norm(*w, e + "LayerNorm.", c);
  w->ignore(e + "position_ids");  // a persistent buffer before transformers 4.31: always 0..P-1

  for (std::int64_t i = 0; i < c.encoder_layers; ++i)
    m.encoder.layers.push_back(bert_detail::layer(*w, p + "encoder.layer." + std::to_string(i) + ".", c));

  if (pooler) m.pooler = bert_detail::linear(*w, p + "pooler.dense.", d, d);
  if (mlm) {
    m.mlm_head.dense = bert_detail::linear(*w, "cls.predictions.transform.dense.", d, d);
    m.mlm_head.activation = c.activation;  // BertPredictionHeadTransform uses hidden_act too
    m.mlm_head.norm = bert_detail::layer_norm(*w, "cls.predictions.transform.LayerNorm.", c);
    // HF ties decoder.weight to the word embeddings and decoder.bias to cls.predictions.bias
    // after loading, so stored copies of tied tensors are never used.
    if (config.boolean_or("tie_word_embeddings", true)) {
      m.mlm_head.decoder.linear.weight = m.input.tokens.weight;
      w->ignore("cls.predictions.decoder.weight");
    } else {
      m.mlm_head.decoder.linear.weight = w->get("cls.predictions.decoder.weight", {c.vocab_size, d});
    }
    const bool own_bias = w->contains("cls.predictions.bias") || !w->contains("cls.predictions.decoder.bias");
    m.mlm_head.decoder.logits_bias =
        w->get(own_bias ? "cls.predictions.bias" : "cls.predictions.decoder.bias", {c.vocab_size});
    w->ignore("cls.predictions.decoder.bias");
  }
  if (classifier) m.classifier = bert_detail::linear(*w, "classifier.", c.num_labels, d);
  // BertForPreTraining checkpoints also carry the next-sentence head, which no loaded class uses.
  w->ignore("cls.seq_relationship.weight");
  w->ignore("cls.seq_relationship.bias");
  w->expect_all_used("BERT heads other than the masked-LM head and sequence classification are not supported");
  return m;
}

}  // namespace qkv::hf
