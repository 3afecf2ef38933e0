#pragma once
// Post-processors (tokenizer.json "post_processor"): wrap one encoded sequence in special tokens.
// Only single sequences are supported; with add_special_tokens=false nothing is added, as in
// tokenizers.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/core/error.hpp"
#include "qkv/tokenize/json_fields.hpp"

namespace qkv::tokenize {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void process(std::vector<int>& ids, bool add_special_tokens) const = 0;
  // How many ids process() adds to a single sequence (truncation leaves room for them).
  virtual std::size_t added_count() const = 0;
};

// Template "single": the sequence with the ids of special tokens around it. Bert ([CLS] A [SEP])
// and Roberta (<s> A </s>) processing are this with fixed tokens.
class TemplateProcessor : public PostProcessor {
 public:
  TemplateProcessor(std::vector<int> before, std::vector<int> after)
      : before_(std::move(before)), after_(std::move(after)) {}

  static std::unique_ptr<PostProcessor> from_template(const nlohmann::json& spec, const std::string& where) {
    const auto& single = fields::required(spec, "single", where);
    const auto& specials = spec.contains("special_tokens") ? spec.at("special_tokens") : nlohmann::json::object();
    if (!single.is_array()) fail(where, ": 'single' must be an array of pieces");
    std::vector<int> before, after;
    bool seen_sequence = false;
    for (const auto& piece : single) {
      if (piece.is_object() && piece.contains("Sequence")) {
        if (seen_sequence) fail(where, ": 'single' names the sequence twice");
        seen_sequence = true;
      } else if (piece.is_object() && piece.contains("SpecialToken")) {
        std::string name = fields::string_field(piece.at("SpecialToken"), "id", where + ": SpecialToken");
        if (!specials.is_object() || !specials.contains(name))
          fail(where, ": special token \"", name, "\" is missing from 'special_tokens'");
        const auto& ids = fields::required(specials.at(name), "ids", where + ": special_tokens");
        if (!ids.is_array()) fail(where, ": special_tokens \"", name, "\": 'ids' must be an array");
        for (const auto& id : ids) (seen_sequence ? after : before).push_back(fields::index_of(id, where, "ids"));
      } else {
        fail(where, ": each piece of 'single' must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      }
    }
    if (!seen_sequence) fail(where, ": 'single' does not contain the sequence");
    return std::make_unique<TemplateProcessor>(std::move(before), std::move(after));
  }

  // {"cls": ["[CLS]", 101], "sep": ["[SEP]", 102]}
  static std::unique_ptr<PostProcessor> cls_sep(const nlohmann::json& spec, const std::string& where) {
    auto id_of = [&](const char* key) {
      const auto& pair = fields::required(spec, key, where);
      if (!pair.is_array() || pair.size() != 2) fail(where, ": '", key, "' must be [token, id]");
      return fields::index_of(pair[1], where, key);
    };
    return std::make_unique<TemplateProcessor>(std::vector<int>{id_of("cls")}, std::vector<int>{id_of("sep")});
  }

  void process(std::vector<int>& ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    ids.insert(ids.begin(), before_.begin(), before_.end());
    ids.insert(ids.end(), after_.begin(), after_.end());
  }
  std::size_t added_count() const override { return before_.size() + after_.size(); }

 private:
  std::vector<int> before_, after_;
};

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  void process(std::vector<int>& ids, bool add_special_tokens) const override {
    for (const auto& step : steps_) step->process(ids, add_special_tokens);
  }
  std::size_t added_count() const override {
    std::size_t n = 0;
    for (const auto& step : steps_) n += step->added_count();
    return n;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

// Null for post-processors that leave the ids alone (ByteLevel only trims offsets).
inline std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& spec, const std::string& where) {
  if (spec.is_null()) return nullptr;
  const std::string& type = fields::type_of(spec, where);
  if (type == "TemplateProcessing") return TemplateProcessor::from_template(spec, where);
  if (type == "BertProcessing" || type == "RobertaProcessing") return TemplateProcessor::cls_sep(spec, where);
  if (type == "ByteLevel") return nullptr;
  if (type == "Sequence") {
    const auto& list = fields::required(spec, "processors", where);
    if (!list.is_array()) fail(where, ": 'processors' must be an array");
    std::vector<std::unique_ptr<PostProcessor>> steps;
    for (std::size_t i = 0; i < list.size(); ++i)
      if (auto step = make_post_processor(list[i], where + ".processors[" + std::to_string(i) + "]"))
        steps.push_back(std::move(step));
    return std::make_unique<SequenceProcessor>(std::move(steps));
  }
  fail(where, ": unknown post-processor type \"", type,
       "\" (expected TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel or Sequence)");
}

}  // namespace qkv::tokenize
