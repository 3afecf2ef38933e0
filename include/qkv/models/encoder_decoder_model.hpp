#pragma once
// Encoder-decoder model (the original Transformer, BART, Marian, T5): the encoder reads the
// source; every decoder layer's cross-attention takes its keys and values from the encoder
// output and its queries from the decoder.
#include <memory>
#include <vector>

#include "qkv/models/pack.hpp"
#include "qkv/models/config.hpp"
#include "qkv/models/stacks.hpp"
#include "qkv/models/weight_store.hpp"
#include "qkv/nn/lm_head.hpp"
#include "qkv/nn/relative_position_bias.hpp"

namespace qkv {

struct Seq2SeqOutput {
  Tensor<float> encoder_last_hidden_state;      // [B, Ls, d]
  Tensor<float> last_hidden_state;              // [B, Lt, d], decoder output after its final norm
  Tensor<float> logits;                         // [B, Lt, vocab]
  std::vector<Tensor<float>> encoder_hidden_states;  // nE + 1 of [B, Ls, d], when asked for
  std::vector<Tensor<float>> decoder_hidden_states;  // nD + 1 of [B, Lt, d]
  std::vector<Tensor<float>> encoder_attentions;  // per layer [B, H, Ls, Ls], when asked for
  std::vector<Tensor<float>> decoder_attentions;  // per layer [B, H, Lt, Lt]
  std::vector<Tensor<float>> cross_attentions;    // per layer [B, H, Lt, Ls]
};

// One request's decoding state: the encoder output, its keys/values for every decoder layer's
// cross-attention (computed once), and the self-attention KV caches.
struct Seq2SeqState {
  Tensor<float> memory;                   // encoder output [B, Ls, d]
  Tensor<std::uint8_t> source_padding;    // [B, Ls], 1 = padded source token
  std::vector<nn::KvCache> self_caches;   // one per decoder layer
  std::vector<nn::KvCache> cross_caches;  // one per decoder layer
  std::int64_t length = 0;                // decoder positions processed so far
  Workspace workspace;                    // step()'s temporaries: sized by the first step of a shape

  // Keeps batch rows `rows` (in that order, repeats allowed): beam search repeats each source
  // num_beams times, then re-picks beams after every step. When each new row i takes a row of the
  // same source as row i had (beams of one input, what HF's _reorder_cache assumes), the encoder
  // side is unchanged and `same_sources` skips copying it.
  void select_rows(const std::vector<std::int64_t>& rows, bool same_sources = false) {
    for (auto& cache : self_caches) cache.select_rows(rows);
    if (same_sources && std::int64_t(rows.size()) == memory.dim(0)) return;
    for (auto& cache : cross_caches) cache.select_rows(rows);
    memory = nn::gather_rows(memory, rows);
    source_padding = nn::gather_rows(source_padding, rows);
  }
};

struct EncoderDecoderModel {
  TransformerConfig config;
  std::shared_ptr<WeightStore> weights;
  TokenInput encoder_input;
  TokenInput decoder_input;
  EncoderStack encoder;
  DecoderStack decoder;
  nn::LmHead lm_head;
  // T5: the relative position biases of the encoder and decoder self-attentions (block 0's
  // tables, shared by every layer of the stack, as in HF T5Stack). Empty = none. Cross-attention
  // never has one.
  nn::RelativePositionBias encoder_position_bias{};
  nn::RelativePositionBias decoder_position_bias{};

  // Packs the blocks' projections into GEMM panels (qkv::load calls it).
  void pack_weights() {
    pack_linears(encoder, *weights);
    pack_linears(decoder, *weights);
  }

  // Source ids [B, Ls] with attention_mask [B, Ls] (or empty) -> encoder output [B, Ls, d].
  Tensor<float> encode(TensorView<const std::int64_t> ids, TensorView<const std::int64_t> attention_mask = {},
                       std::vector<Tensor<float>>* attentions = nullptr,
                       std::vector<Tensor<float>>* hidden_states = nullptr) const {
    check_ids(ids, "input_ids");
    const auto padding = key_padding_from(attention_mask, ids.dim(0), ids.dim(1));
    nn::AttentionMasks masks;
    masks.key_padding = padding.view();
    Tensor<float> bias;  // computed once per forward, used by every layer
    if (!encoder_position_bias.empty()) {
      bias = encoder_position_bias.compute(ids.dim(1), ids.dim(1));
      masks.head_bias = bias.view();
    }
    Tensor<float> x = encoder_input.forward(ids);
    encoder.forward(x.view(), masks, attentions, hidden_states);
    return x;
  }

  // Full forward pass with teacher-forced decoder ids [B, Lt] (right-padded, mask optional).
  Seq2SeqOutput forward(TensorView<const std::int64_t> ids, TensorView<const std::int64_t> attention_mask,
                        TensorView<const std::int64_t> decoder_ids,
                        TensorView<const std::int64_t> decoder_attention_mask = {}, const ForwardOptions& options = {}) const {
    Seq2SeqOutput out;
    out.encoder_last_hidden_state = encode(ids, attention_mask, options.output_attentions ? &out.encoder_attentions : nullptr,
                                           options.output_hidden_states ? &out.encoder_hidden_states : nullptr);
    check_ids(decoder_ids, "decoder_input_ids");
    if (decoder_ids.dim(0) != ids.dim(0))
      fail("decoder_input_ids has batch ", decoder_ids.dim(0), ", input_ids has ", ids.dim(0));
    const auto source_padding = key_padding_from(attention_mask, ids.dim(0), ids.dim(1));
    const auto target_padding = key_padding_from(decoder_attention_mask, decoder_ids.dim(0), decoder_ids.dim(1));
    nn::AttentionMasks self_masks, cross_masks;
    self_masks.causal = true;
    self_masks.key_padding = target_padding.view();
    cross_masks.key_padding = source_padding.view();
    Tensor<float> bias;
    if (!decoder_position_bias.empty()) {
      bias = decoder_position_bias.compute(decoder_ids.dim(1), decoder_ids.dim(1));
      self_masks.head_bias = bias.view();
    }
    out.last_hidden_state = decoder_input.forward(decoder_ids);
    decoder.forward(out.last_hidden_state.view(), out.encoder_last_hidden_state.view(), self_masks, cross_masks,
                    options.output_attentions ? &out.decoder_attentions : nullptr,
                    options.output_attentions ? &out.cross_attentions : nullptr,
                    options.output_hidden_states ? &out.decoder_hidden_states : nullptr);
    out.logits = Tensor<float>::uninitialized({decoder_ids.dim(0), decoder_ids.dim(1), lm_head.vocab_size()});
    lm_head.forward(out.last_hidden_state.view(), out.logits);
    return out;
  }

  // Encodes the source once and prepares decoding of up to `capacity` target positions.
  Seq2SeqState start(TensorView<const std::int64_t> ids, TensorView<const std::int64_t> attention_mask,
                     std::int64_t capacity) const {
    Seq2SeqState state;
    state.memory = encode(ids, attention_mask);
    state.source_padding = key_padding_from(attention_mask, ids.dim(0), ids.dim(1));
    state.self_caches.resize(decoder.layers.size());
    state.cross_caches.resize(decoder.layers.size());
    for (std::size_t i = 0; i < decoder.layers.size(); ++i) {
      const auto& layer = decoder.layers[i];
      state.self_caches[i].reserve(ids.dim(0), capacity, layer.self_attn.num_kv_heads, layer.self_attn.head_dim());
      layer.cross_attn.fill_cache(state.memory.view(), state.cross_caches[i]);
    }
    return state;
  }

  // Runs new decoder tokens ids [B, Lnew] (no padding) after the state's positions, reusing the
  // caches. Returns the last position's logits [B, vocab]. Once the state has room and has seen a
  // step of this shape, the logits are the only allocation.
  Tensor<float> step(Seq2SeqState& state, TensorView<const std::int64_t> ids) const {
    check_ids(ids, "decoder_input_ids");
    const std::int64_t batch = ids.dim(0), fresh = ids.dim(1), past = state.length, total = past + fresh;
    if (batch != state.memory.dim(0)) fail("decoder step: the state was started for another batch size");
    UseWorkspace use(state.workspace);  // every layer takes its temporaries from the state's workspace
    Workspace::Scope scratch(state.workspace);
    const auto positions = scratch.take<std::int64_t>({batch, fresh});
    continued_positions_into(positions, past);
    ForwardOptions options;
    options.position_ids = positions;
    nn::AttentionMasks self_masks, cross_masks;
    self_masks.causal = true;
    self_masks.causal_offset = past;
    self_masks.positions = positions;
    cross_masks.key_padding = state.source_padding.view();
    if (!decoder_position_bias.empty()) {
      const auto bias = scratch.take<float>({decoder_position_bias.num_heads(), fresh, total});
      decoder_position_bias.compute_into(bias, past);
      self_masks.head_bias = bias;
    }
    const auto x = scratch.take<float>({batch, fresh, decoder_input.tokens.dim()});
    decoder_input.forward(ids, options, x);
    for (std::size_t i = 0; i < decoder.layers.size(); ++i)
      decoder.layers[i].forward_cached(x, state.self_caches[i], state.cross_caches[i], self_masks, cross_masks);
    if (!decoder.final_norm.weight.empty()) decoder.final_norm.forward(x, x);
    state.length = total;
    return last_position_logits(lm_head, x);
  }
};

}  // namespace qkv
