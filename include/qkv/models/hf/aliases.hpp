#pragma once
// Tied tensors in Hugging Face files: one tensor known under several state_dict names (T5's
// shared / encoder.embed_tokens / decoder.embed_tokens, BART's model.shared / lm_head, ...).
// save_pretrained keeps one of the names and drops the others, and which one it keeps has
// varied between transformers versions and conversion scripts, so loaders accept any of them.
#include <string>
#include <vector>

#include "qkv/models/weight_store.hpp"

namespace qkv::hf {

// The first of `names` that the file stores; the others, if stored too, are marked as ignored
// aliases. When none is stored, returns the first name, so that WeightStore::get reports it.
inline std::string first_stored(WeightStore& w, const std::vector<std::string>& names) {
  std::string found;
  for (const std::string& name : names)
    if (found.empty() && w.contains(name)) found = name;
  for (const std::string& name : names)
    if (name != found) w.ignore(name);
  return found.empty() ? names.front() : found;
}

}  // namespace qkv::hf
