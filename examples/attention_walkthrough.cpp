// attention_walkthrough: what attention looks like inside an encoder-decoder Transformer.
//
// The model (attention_walkthrough.hpp) is tiny and its weights are HAND-DESIGNED for
// illustration, not trained: 2 layers, 2 heads, d_model 16, a 10-word vocabulary. Its first
// layer is small noise, like a model before training; its last layer's query and key
// projections were written by hand so that the patterns mean something. We run one
// teacher-forced forward pass, "the ball is blue" -> "<s> la bola es azul", through the
// library's real code and print every attention probability matrix.
//
// Reading a table: row i is a query position, column j a key position, and entry (i, j) is how
// much of position i's output is taken from position j's value: softmax(q_i . k_j / sqrt(8))
// over j, so every row sums to 1. Three kinds of attention appear:
//   encoder self-attention   source words look at source words (all of them, both directions);
//   decoder self-attention   target words look at earlier target words only: the causal mask
//                            makes the upper triangle exactly 0, so no word peeks at the future;
//   cross-attention          target words (queries) look at the encoder's source words (keys).
// What to look for: layer 0 is nearly uniform (its decoder rows are 1, 1/2, 1/3, ... because of
// the causal mask); in layer 1 each head does one job, named in its title, and in the
// cross-attention every Spanish word looks at the English word it translates. (A trained
// model's row for the input "la" is busy predicting the NEXT word, "bola", so its attention
// often leans to "ball" instead; aligning each word with its own translation keeps this simple.)
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "attention_walkthrough.hpp"

namespace {

using Words = std::vector<std::string>;

constexpr const char* kUsage =
    "usage: attention_walkthrough [--help]\n"
    "\n"
    "Builds a tiny encoder-decoder Transformer with hand-designed (not trained) weights, runs\n"
    "\"the ball is blue\" -> \"<s> la bola es azul\" through it, and prints every layer's and\n"
    "head's encoder self-attention, decoder self-attention and cross-attention probabilities,\n"
    "then which source word each target word attends to most.\n";

void print_ids(const char* what, const Words& words, const qkv::Tensor<std::int64_t>& ids) {
  std::cout << what << " ids:";
  for (std::int64_t i = 0; i < ids.dim(1); ++i) std::cout << ' ' << ids(0, i);
  std::cout << "   (";
  for (std::size_t i = 0; i < words.size(); ++i) std::cout << (i ? " " : "") << words[i];
  std::cout << ")\n";
}

// probs [queries, keys] as a table: a row per query word, a column per key word.
void print_table(qkv::TensorView<const float> probs, const Words& queries, const Words& keys) {
  std::size_t label = 0, cell = 4;  // "0.25" is 4 wide
  for (const auto& w : queries) label = std::max(label, w.size());
  for (const auto& w : keys) cell = std::max(cell, w.size());
  std::cout << "    " << std::string(label, ' ');
  for (const auto& k : keys) std::cout << "  " << std::setw(int(cell)) << k;
  std::cout << '\n';
  for (std::int64_t i = 0; i < probs.dim(0); ++i) {
    std::cout << "    " << std::left << std::setw(int(label)) << queries[std::size_t(i)] << std::right;
    for (std::int64_t j = 0; j < probs.dim(1); ++j) std::cout << "  " << std::setw(int(cell)) << probs(i, j);
    std::cout << '\n';
  }
}

// One kind of attention in one layer: per-layer probabilities are [batch 1, heads, queries, keys].
void print_heads(const char* kind, const char* const roles[], bool last_layer,
                 const qkv::Tensor<float>& probs, const Words& queries, const Words& keys) {
  for (std::int64_t h = 0; h < probs.dim(1); ++h) {
    std::cout << "  " << kind << ", head " << h << " ("
              << (last_layer ? roles[h] : "noise only: nearly uniform, like an untrained model") << ")\n";
    print_table(probs.view().select(0).select(h), queries, keys);
  }
}

int run() {
  namespace wt = qkv::examples::walkthrough;
  const qkv::examples::Walkthrough w = qkv::examples::build_walkthrough_model();

  std::cout << "Tiny encoder-decoder Transformer, weights hand-designed for illustration (not trained):\n"
            << "  " << w.model.config.encoder_layers << " layers, " << w.model.config.num_heads << " heads, d_model "
            << w.model.config.d_model << ", post-LN\n  vocabulary:";
  for (std::size_t id = 0; id < w.vocab.size(); ++id) std::cout << ' ' << id << '=' << w.vocab[id];
  std::cout << "\n";
  const auto source = w.ids(w.source), target = w.ids(w.target);
  print_ids("  source", w.source, source);
  print_ids("  target", w.target, target);

  // attention_mask: 1 = real token, 0 = padding (Hugging Face's convention). A batch of one
  // sentence has no padding, so all ones; the decoder's causal mask is added by the model.
  const qkv::Tensor<std::int64_t> source_mask(source.shape(), 1), target_mask(target.shape(), 1);
  const qkv::Seq2SeqOutput out = w.model.forward(source, source_mask, target, target_mask, qkv::ForwardOptions::with_attentions());

  std::cout << std::fixed << std::setprecision(2);
  const std::size_t layers = out.cross_attentions.size();
  for (std::size_t l = 0; l < layers; ++l) {
    const bool last = l + 1 == layers;
    std::cout << "\n=== layer " << l << " === (rows: queries, columns: keys)\n";
    print_heads("encoder self-attention", wt::kSelfAttentionRoles, last, out.encoder_attentions[l], w.source, w.source);
    print_heads("decoder self-attention", wt::kSelfAttentionRoles, last, out.decoder_attentions[l], w.target, w.target);
    print_heads("cross-attention", wt::kCrossAttentionRoles, last, out.cross_attentions[l], w.target, w.source);
  }

  // Heads are averaged because each one is only part of the picture: here the meaning head
  // and the position head agree for the Spanish words, and disagree for <s>, which has no meaning.
  std::cout << "\nLast layer's cross-attention averaged over heads: the source word each target word looks at most\n";
  const auto cross = out.cross_attentions.back().view().select(0);  // [heads, target, source]
  for (std::int64_t t = 0; t < cross.dim(1); ++t) {
    std::int64_t best = 0;
    float best_weight = -1.0f;
    for (std::int64_t s = 0; s < cross.dim(2); ++s) {
      float mean = 0.0f;
      for (std::int64_t h = 0; h < cross.dim(0); ++h) mean += cross(h, t, s) / float(cross.dim(0));
      if (mean > best_weight) best = s, best_weight = mean;
    }
    std::cout << "  " << std::left << std::setw(5) << w.target[std::size_t(t)] << " -> " << std::setw(5)
              << w.source[std::size_t(best)] << std::right << " (" << best_weight << ")\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::cout << kUsage;
      return 0;
    }
    std::cerr << "attention_walkthrough: unknown argument '" << argv[i] << "' (see --help)\n";
    return 2;
  }
  try {
    return run();
  } catch (const qkv::Error& e) {
    std::cerr << "attention_walkthrough: " << e.what() << '\n';
  } catch (const std::exception& e) {
    std::cerr << "attention_walkthrough: unexpected error: " << e.what() << '\n';
  }
  return 1;
}
