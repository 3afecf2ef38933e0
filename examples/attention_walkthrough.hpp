#pragma once
// The model behind examples/attention_walkthrough.cpp and its test: a tiny English -> Spanish
// encoder-decoder Transformer whose weights are HAND-DESIGNED here, for illustration. Nothing
// was trained and the model translates nothing; what it does is attend in patterns a reader can
// check by eye, computed by the library's real loading and forward code (PyTorch
// nn.Transformer names, read by models/torch_layout.hpp).
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "qkv/models/torch_layout.hpp"

namespace qkv::examples {

namespace walkthrough {

// Every feature gets its own embedding dimension, so a query or key projection only has to
// pick dimensions: "a query about meaning BALL matches a key about meaning BALL".
constexpr std::int64_t kDModel = 16, kHeads = 2, kHeadDim = kDModel / kHeads, kFfn = 32, kLayers = 2;
constexpr std::int64_t kMaxPositions = 8;
constexpr std::int64_t kMeaningDim = 0;                   // dims 0..3, one per Meaning, shared by a word and its translation
constexpr std::int64_t kEnglishDim = 4, kSpanishDim = 5;  // which language the word is in
constexpr std::int64_t kStartDim = 6, kEndDim = 7;        // <s>, </s>
constexpr std::int64_t kPositionDim = 8;                  // dims 8..15: position p is dim 8 + p
enum Meaning : std::int64_t { kThe, kBall, kIs, kBlue };
constexpr std::int64_t kMeanings = 4;
static_assert(kPositionDim + kMaxPositions == kDModel && kMaxPositions == kHeadDim, "one dim / channel per position");

// id -> word; English word m is id 2 + m, its Spanish translation id 6 + m.
inline std::vector<std::string> vocabulary() { return {"<s>", "</s>", "the", "ball", "is", "blue", "la", "bola", "es", "azul"}; }

// What each head of the last layer was designed to do (earlier layers are noise, see below).
inline const char* const kSelfAttentionRoles[kHeads] = {"looks for the noun", "looks one position back"};
inline const char* const kCrossAttentionRoles[kHeads] = {"looks for the same meaning", "looks one position back"};

// Uniform noise in [-amplitude, amplitude] from a fixed seed. Built from mt19937's raw output,
// which the standard pins down, because std::*_distribution results differ between libraries.
class Noise {
 public:
  explicit Noise(std::uint32_t seed) : rng_(seed) {}
  Tensor<float> tensor(const Shape& shape, float amplitude) {
    Tensor<float> t(shape);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = amplitude * float(2.0 * double(rng_()) / 4294967295.0 - 1.0);
    return t;
  }

 private:
  std::mt19937 rng_;
};

// Token embeddings [10, 16]: a meaning (magnitude 2) plus a language marker (magnitude 1), so
// "ball" and "bola" share a direction and differ only in dims 4/5.
inline Tensor<float> token_embeddings() {
  Tensor<float> e({10, kDModel});
  e(0, kStartDim) = 2.0f;
  e(1, kEndDim) = 2.0f;
  for (std::int64_t m = 0; m < kMeanings; ++m) {
    e(2 + m, kMeaningDim + m) = 2.0f, e(2 + m, kEnglishDim) = 1.0f;
    e(6 + m, kMeaningDim + m) = 2.0f, e(6 + m, kSpanishDim) = 1.0f;
  }
  return e;
}

// Learned position embeddings [8, 16], chosen one-hot: position p adds 2 to dim 8 + p. Real
// models use sinusoids or trained tables; one-hot keeps "look one back" a plain shift below.
inline Tensor<float> position_embeddings() {
  Tensor<float> e({kMaxPositions, kDModel});
  for (std::int64_t p = 0; p < kMaxPositions; ++p) e(p, kPositionDim + p) = 2.0f;
  return e;
}

// in_proj_weight [3d, d] stacks W_q, W_k, W_v; head h owns rows [h*hd, (h+1)*hd) of each. A
// head's score is q . k / sqrt(hd), so giving a query feature and a key feature the same
// channel of the same head makes queries with the one attend to keys with the other.
inline void ask(Tensor<float>& in_proj, std::int64_t head, std::int64_t channel, std::int64_t feature, float strength) {
  in_proj(head * kHeadDim + channel, feature) += strength;
}
inline void offer(Tensor<float>& in_proj, std::int64_t head, std::int64_t channel, std::int64_t feature, float strength) {
  in_proj(kDModel + head * kHeadDim + channel, feature) += strength;
}

// Keys offer their position (channel p <- position p); queries ask for the position before
// their own (channel p-1 <- position p); the first position, with nothing before it, asks for itself.
inline void look_one_back(Tensor<float>& in_proj, std::int64_t head, float strength) {
  for (std::int64_t p = 0; p < kMaxPositions; ++p) {
    offer(in_proj, head, p, kPositionDim + p, strength);
    ask(in_proj, head, std::max<std::int64_t>(p - 1, 0), kPositionDim + p, strength);
  }
}

// The layer norm before each attention leaves a feature dim at about 2.5, so a match scores about
// 2.5 * 2.5 * kStrength^2 / sqrt(8) = 2.2 above a non-match before softmax (measured: about 2.7,
// i.e. ~0.85 of a row over four keys). Larger makes rows one-hot; smaller, noisier.
constexpr float kStrength = 1.0f;
// Amplitude of the noise in every matrix: small, like a fresh initialisation, so the values,
// output projections and feed-forward layers barely move the residual stream and the designed
// patterns survive into the last layer.
constexpr float kNoise = 0.1f;

// Self-attention (encoder and decoder alike: the meanings are shared). Head 0 "looks for the
// noun": the noun offers itself on channel 0, and the determiner, verb and adjective ask for
// it; the noun asks for its adjective on channel 1. Head 1 looks one position back. In the
// decoder the causal mask hides later words: "la" and "bola" cannot see what they ask for
// ("bola", "azul") yet, so their attention spreads over what they can see.
inline Tensor<float> designed_self_attention(Noise& noise) {
  Tensor<float> w = noise.tensor({3 * kDModel, kDModel}, kNoise);
  offer(w, 0, 0, kMeaningDim + kBall, kStrength);
  for (Meaning asker : {kThe, kIs, kBlue}) ask(w, 0, 0, kMeaningDim + asker, kStrength);
  offer(w, 0, 1, kMeaningDim + kBlue, kStrength);
  ask(w, 0, 1, kMeaningDim + kBall, kStrength);
  look_one_back(w, 1, kStrength);
  return w;
}

// Cross-attention: queries come from the decoder (Spanish), keys from the encoder output
// (English). Head 0 matches meanings, channel m <- meaning m on both sides, so "bola" finds
// "ball" wherever it is. Head 1 looks one position back, which here lands on the translation
// too, because the decoder input is shifted right by <s> and this sentence pair has the same
// word order in both languages (head 0 would still work if it did not).
inline Tensor<float> designed_cross_attention(Noise& noise) {
  Tensor<float> w = noise.tensor({3 * kDModel, kDModel}, kNoise);
  for (std::int64_t m = 0; m < kMeanings; ++m) {
    ask(w, 0, m, kMeaningDim + m, kStrength);
    offer(w, 0, m, kMeaningDim + m, kStrength);
  }
  look_one_back(w, 1, kStrength);
  return w;
}

}  // namespace walkthrough

struct Walkthrough {
  EncoderDecoderModel model;
  std::vector<std::string> vocab = walkthrough::vocabulary();  // id -> word
  std::vector<std::string> source{"the", "ball", "is", "blue"};
  std::vector<std::string> target{"<s>", "la", "bola", "es", "azul"};  // teacher-forced decoder input

  // words -> ids [1, L], a batch of one sentence; qkv::Error for a word outside the vocabulary.
  Tensor<std::int64_t> ids(const std::vector<std::string>& words) const {
    Tensor<std::int64_t> t({1, std::int64_t(words.size())});
    for (std::size_t i = 0; i < words.size(); ++i) {
      const auto it = std::find(vocab.begin(), vocab.end(), words[i]);
      if (it == vocab.end()) fail("attention walkthrough: '", words[i], "' is not in the vocabulary");
      t(0, i) = std::int64_t(it - vocab.begin());
    }
    return t;
  }
};

// Builds the model: layer 0 of each stack is all noise (what attention looks like before
// training: nearly uniform); the last layer adds the designed query/key patterns above.
inline Walkthrough build_walkthrough_model() {
  using namespace walkthrough;
  TransformerConfig c;
  c.vocab_size = 10;
  c.d_model = kDModel;
  c.num_heads = kHeads;
  c.ffn_dim = kFfn;
  c.encoder_layers = c.decoder_layers = kLayers;
  c.max_positions = kMaxPositions;
  c.positions = PositionKind::learned;
  c.activation = Activation::relu;
  // Post-LN, as in "Attention Is All You Need" and nn.Transformer's default (norm_first=False):
  // x = norm(x + sublayer(x)). Every attention thus reads unit-variance vectors, which makes the
  // effect of kStrength predictable. No final norms (nn.Transformer would add encoder.norm etc.).
  c.placement = nn::NormPlacement::post;
  c.final_norm = false;

  WeightStore store;
  Noise noise(2017);  // any fixed seed: the same weights on every run and machine
  store.keep("embed_tokens.weight", token_embeddings());  // shared by encoder, decoder and (tied) lm_head
  store.keep("embed_positions.weight", position_embeddings());
  for (const std::string stack : {"encoder", "decoder"})
    for (std::int64_t layer = 0; layer < kLayers; ++layer) {
      const std::string p = stack + ".layers." + std::to_string(layer) + ".";
      const bool designed = layer == kLayers - 1;
      store.keep(p + "self_attn.in_proj_weight",
                 designed ? designed_self_attention(noise) : noise.tensor({3 * kDModel, kDModel}, kNoise));
      store.keep(p + "self_attn.out_proj.weight", noise.tensor({kDModel, kDModel}, kNoise));
      if (stack == "decoder") {
        store.keep(p + "multihead_attn.in_proj_weight",
                   designed ? designed_cross_attention(noise) : noise.tensor({3 * kDModel, kDModel}, kNoise));
        store.keep(p + "multihead_attn.out_proj.weight", noise.tensor({kDModel, kDModel}, kNoise));
      }
      // Biases are absent throughout (torch's bias=False); LayerNorm weights are torch's initial 1.
      store.keep(p + "linear1.weight", noise.tensor({kFfn, kDModel}, kNoise));
      store.keep(p + "linear2.weight", noise.tensor({kDModel, kFfn}, kNoise));
      const int norms = stack == "decoder" ? 3 : 2;  // norm1 after self-attention, [norm2 after cross-attention,] last after the FFN
      for (int n = 1; n <= norms; ++n) store.keep(p + "norm" + std::to_string(n) + ".weight", Tensor<float>({kDModel}, 1.0f));
    }
  return {torch_layout::load_encoder_decoder_model(std::make_shared<WeightStore>(std::move(store)), c)};
}

}  // namespace qkv::examples
