#pragma once
// A tokenizer.json pipeline, run as tokenizers' TokenizerImpl runs it: added tokens are split
// out (normalizing the rest), the pre-tokenizer splits each remaining segment into words, the
// model turns words into ids, then truncation, the post-processor and padding apply.
// Decoding maps ids to token strings (unknown ids are dropped, special tokens optionally) and
// runs the decoder, or joins the tokens with spaces when there is none.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/added_tokens.hpp"
#include "qkv/tokenize/backend.hpp"
#include "qkv/tokenize/bpe.hpp"
#include "qkv/tokenize/decoders.hpp"
#include "qkv/tokenize/normalizers.hpp"
#include "qkv/tokenize/post_processors.hpp"
#include "qkv/tokenize/pre_tokenizers.hpp"
#include "qkv/tokenize/json_fields.hpp"
#include "qkv/tokenize/unigram.hpp"
#include "qkv/tokenize/utf8.hpp"
#include "qkv/tokenize/word_level.hpp"
#include "qkv/tokenize/wordpiece.hpp"

namespace qkv::tokenize {

// Files without a model "type" are told apart by their fields, as tokenizers' untagged fallback does.
inline std::unique_ptr<Model> make_model(const nlohmann::json& spec, const std::string& where) {
  if (!spec.is_object()) fail(where, ": expected a JSON object");
  std::string type = fields::present(spec, "type") ? fields::type_of(spec, where)
                     : spec.contains("merges")   ? "BPE"
                     : spec.contains("vocab") && spec.at("vocab").is_array() ? "Unigram"
                     : spec.contains("max_input_chars_per_word")             ? "WordPiece"
                                                                             : "WordLevel";
  if (type == "BPE") return std::make_unique<BpeModel>(spec, where);
  if (type == "WordPiece") return std::make_unique<WordPieceModel>(spec, where);
  if (type == "Unigram") return std::make_unique<UnigramModel>(spec, where);
  if (type == "WordLevel") return std::make_unique<WordLevelModel>(spec, where);
  fail(where, ": unknown model type \"", type, "\" (expected BPE, WordPiece, Unigram or WordLevel)");
}

// tokenizer.json "truncation" and "padding" for one sequence.
struct LengthRules {
  std::optional<std::size_t> max_length;
  bool truncate_left = false;
  bool pad = false;
  std::optional<std::size_t> pad_length;  // Fixed; otherwise the sequence's own length
  std::size_t pad_multiple = 0;
  int pad_id = 0;
  bool pad_left = false;

  LengthRules() = default;
  LengthRules(const nlohmann::json& truncation, const nlohmann::json& padding, const std::string& where) {
    if (!truncation.is_null()) {
      std::string at = where + ": truncation";
      max_length = static_cast<std::size_t>(fields::index_field(truncation, "max_length", at));
      truncate_left = fields::string_or(truncation, "direction", "Right", at) == "Left";
    }
    if (!padding.is_null()) {
      std::string at = where + ": padding";
      pad = true;
      const auto& strategy = fields::required(padding, "strategy", at);
      if (strategy.is_object() && strategy.contains("Fixed"))
        pad_length = static_cast<std::size_t>(fields::index_of(strategy.at("Fixed"), at, "Fixed"));
      if (fields::present(padding, "pad_to_multiple_of"))
        pad_multiple = static_cast<std::size_t>(fields::index_field(padding, "pad_to_multiple_of", at));
      pad_id = fields::present(padding, "pad_id") ? fields::index_field(padding, "pad_id", at) : 0;
      pad_left = fields::string_or(padding, "direction", "Right", at) == "Left";
    }
  }

  void truncate(std::vector<int>& ids, std::size_t reserved) const {
    if (!max_length) return;
    std::size_t keep = *max_length > reserved ? *max_length - reserved : 0;
    if (ids.size() <= keep) return;
    if (truncate_left) ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(keep));
    else ids.resize(keep);
  }

  void apply_padding(std::vector<int>& ids) const {
    if (!pad) return;
    std::size_t target = pad_length ? *pad_length : ids.size();
    if (pad_multiple > 0 && target % pad_multiple != 0) target += pad_multiple - target % pad_multiple;
    if (ids.size() >= target) return;
    ids.insert(pad_left ? ids.begin() : ids.end(), target - ids.size(), pad_id);
  }
};

class HfTokenizer : public Backend {
 public:
  HfTokenizer(const nlohmann::json& spec, const std::string& where) {
    if (!spec.is_object()) fail(where, ": expected a JSON object");
    model_ = make_model(fields::required(spec, "model", where), where + ": model");
    if (fields::present(spec, "normalizer")) normalizer_ = make_normalizer(spec.at("normalizer"), where + ": normalizer");
    if (fields::present(spec, "pre_tokenizer"))
      pre_tokenizer_ = make_pre_tokenizer(spec.at("pre_tokenizer"), where + ": pre_tokenizer");
    if (fields::present(spec, "post_processor"))
      post_processor_ = make_post_processor(spec.at("post_processor"), where + ": post_processor");
    if (fields::present(spec, "decoder")) decoder_ = make_decoder(spec.at("decoder"), where + ": decoder");
    added_ = AddedVocabulary(spec.contains("added_tokens") ? spec.at("added_tokens") : nlohmann::json(),
                             model_->vocab(), normalizer_.get(), where);
    lengths_ = LengthRules(spec.contains("truncation") ? spec.at("truncation") : nlohmann::json(),
                           spec.contains("padding") ? spec.at("padding") : nlohmann::json(), where);
  }

  std::vector<int> encode(std::string_view input, bool add_special_tokens) const override {
    std::vector<int> ids;
    for (Segment& segment : added_.extract_and_normalize(to_valid_utf8(input), normalizer_.get())) {
      if (segment.id) {
        ids.push_back(*segment.id);
        continue;
      }
      std::vector<PreToken> words{PreToken{std::move(segment.text), segment.at_input_start}};
      if (pre_tokenizer_) words = pre_tokenizer_->split(std::move(words));
      for (const PreToken& word : words)
        if (!word.text.empty()) model_->tokenize(word.text, ids);
    }
    lengths_.truncate(ids, add_special_tokens && post_processor_ ? post_processor_->added_count() : 0);
    if (post_processor_) post_processor_->process(ids, add_special_tokens);
    lengths_.apply_padding(ids);
    return ids;
  }

  std::string decode(const std::vector<int>& ids, bool skip_special_tokens) const override {
    std::vector<std::string> tokens;
    for (int id : ids) {
      const std::string* token = id_to_token(id);
      if (token && !(skip_special_tokens && added_.is_special(*token))) tokens.push_back(*token);
    }
    std::string text;
    if (decoder_) {
      for (const std::string& piece : decoder_->decode_chain(std::move(tokens))) text += piece;
    } else {
      for (std::size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
    }
    return text;
  }

  const std::string* id_to_token(int id) const override { return added_.id_to_token(id, model_->vocab()); }
  std::optional<int> token_to_id(std::string_view token) const override {
    return added_.token_to_id(token, model_->vocab());
  }
  // Distinct token strings of the model and the added tokens, as tokenizers' get_vocab_size(true).
  int vocab_size() const override {
    std::size_t n = model_->vocab().size();
    for (const auto& entry : added_.ids()) n += !model_->vocab().contains(entry.first);
    return static_cast<int>(n);
  }

 private:
  std::unique_ptr<Model> model_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  AddedVocabulary added_;
  LengthRules lengths_;
};

}  // namespace qkv::tokenize
