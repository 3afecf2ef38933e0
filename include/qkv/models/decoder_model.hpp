#pragma once
// Decoder-only model (GPT-like, LLaMA-like): causal self-attention blocks and a language-model head.
#include <memory>
#include <vector>

#include "qkv/models/pack.hpp"
#include "qkv/models/config.hpp"
#include "qkv/models/stacks.hpp"
#include "qkv/models/weight_store.hpp"
#include "qkv/nn/lm_head.hpp"

namespace qkv {

struct DecoderOutput {
  Tensor<float> last_hidden_state;           // [B, L, d], after the final norm
  Tensor<float> logits;                      // [B, L, vocab]
  std::vector<Tensor<float>> hidden_states;  // n_layers + 1 of [B, L, d], when asked for
  std::vector<Tensor<float>> attentions;     // per layer [B, H, L, L], when asked for
};

// One request's decoding state: every layer's KV cache, which cached positions are padding, and
// the scratch memory of its forward passes. The model stays const and shareable; each request
// owns one of these.
struct DecoderState {
  std::vector<nn::KvCache> caches;  // one per layer
  Tensor<std::uint8_t> padding;     // [B, capacity], 1 = padded key (left-padded prompts)
  std::int64_t length = 0;          // positions processed so far
  Workspace workspace;              // step()'s temporaries: sized by the first step of a shape

  // Keeps batch rows `rows` (in that order, repeats allowed), e.g. the beams of beam search.
  void select_rows(const std::vector<std::int64_t>& rows) {
    for (auto& cache : caches) cache.select_rows(rows);
    padding = nn::gather_rows(padding, rows, length);
  }

  // Forgets every position but keeps the memory (caches, workspace): the next request of the
  // same batch size starts on it without allocating.
  void clear() {
    for (auto& cache : caches) cache.length = 0;
    length = 0;
  }
};

struct DecoderModel {
  TransformerConfig config;
  std::shared_ptr<WeightStore> weights;
  TokenInput input;
  EncoderStack layers;  // self-attention blocks, run with a causal mask
  nn::LmHead lm_head;

  // Packs the blocks' projections into GEMM panels (qkv::load calls it).
  void pack_weights() {
    pack_linears(layers, *weights);
  }

  // ids [B, L]; attention_mask [B, L] or empty. options.position_ids [B, L] (default 0..L-1) place
  // the tokens for both the position table and rotary embeddings.
  DecoderOutput forward(TensorView<const std::int64_t> ids, TensorView<const std::int64_t> attention_mask = {},
                        const ForwardOptions& options = {}) const {
    check_ids(ids, "input_ids");
    const auto padding = key_padding_from(attention_mask, ids.dim(0), ids.dim(1));
    if (!options.position_ids.empty()) expect_shape(options.position_ids, ids.shape(), "position_ids");
    nn::AttentionMasks masks;
    masks.causal = true;
    masks.key_padding = padding.view();
    masks.positions = options.position_ids;
    DecoderOutput out;
    out.last_hidden_state = input.forward(ids, options);
    layers.forward(out.last_hidden_state.view(), masks, options.output_attentions ? &out.attentions : nullptr,
                   options.output_hidden_states ? &out.hidden_states : nullptr);
    out.logits = Tensor<float>::uninitialized({ids.dim(0), ids.dim(1), lm_head.vocab_size()});
    lm_head.forward(out.last_hidden_state.view(), out.logits);
    return out;
  }

  // A state for `batch` sequences of up to `capacity` positions (it grows if exceeded).
  DecoderState start(std::int64_t batch, std::int64_t capacity) const {
    DecoderState state;
    state.caches.resize(layers.layers.size());
    for (std::size_t i = 0; i < layers.layers.size(); ++i)
      state.caches[i].reserve(batch, capacity, layers.layers[i].self_attn.num_kv_heads, layers.layers[i].self_attn.head_dim());
    state.padding = Tensor<std::uint8_t>({batch, capacity});
    return state;
  }

  // Runs new tokens ids [B, Lnew] after the state's positions, reusing the KV cache (the earlier
  // tokens are not recomputed). attention_mask [B, Lnew] marks padding among the new tokens;
  // position_ids [B, Lnew] default to length, length + 1, ... Returns the last position's
  // logits [B, vocab]. Once the state has room and has seen a step of this shape, the logits are
  // the only allocation.
  Tensor<float> step(DecoderState& state, TensorView<const std::int64_t> ids,
                     TensorView<const std::int64_t> attention_mask = {},
                     TensorView<const std::int64_t> position_ids = {}) const {
    check_ids(ids, "input_ids");
    const std::int64_t batch = ids.dim(0), fresh = ids.dim(1), past = state.length, total = past + fresh;
    if (state.padding.rank() != 2 || state.padding.dim(0) != batch)
      fail("decoder step: the state was started for another batch size");
    if (total > state.padding.dim(1)) {  // grow the padding record with the caches
      Tensor<std::uint8_t> grown({batch, std::max(total, 2 * state.padding.dim(1))});
      for (std::int64_t b = 0; b < batch; ++b)
        for (std::int64_t t = 0; t < past; ++t) grown(b, t) = state.padding(b, t);
      state.padding = std::move(grown);
    }
    key_padding_into(attention_mask, state.padding.view().narrow(1, past, fresh));
    UseWorkspace use(state.workspace);  // every layer takes its temporaries from the state's workspace
    Workspace::Scope scratch(state.workspace);
    ForwardOptions options;
    options.position_ids = position_ids;
    if (position_ids.empty()) {
      const auto continued = scratch.take<std::int64_t>({batch, fresh});
      continued_positions_into(continued, past);
      options.position_ids = continued;
    }
    expect_shape(options.position_ids, ids.shape(), "position_ids");

    nn::AttentionMasks masks;
    masks.causal = true;
    masks.causal_offset = past;
    masks.key_padding = state.padding.view().narrow(1, 0, total);
    masks.positions = options.position_ids;
    const auto x = scratch.take<float>({batch, fresh, input.tokens.dim()});
    input.forward(ids, options, x);
    for (std::size_t i = 0; i < layers.layers.size(); ++i) layers.layers[i].forward_cached(x, state.caches[i], masks);
    if (!layers.final_norm.weight.empty()) layers.final_norm.forward(x, x);
    state.length = total;
    return last_position_logits(lm_head, x);
  }
};

}  // namespace qkv
