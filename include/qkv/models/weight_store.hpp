#pragma once
// Owns a model's weights: tensors read from a checkpoint (one or more safetensors files; float32
// ones are read in place from the memory map, others widened to float32 once, on first use) and
// tensors computed or built in code (keep). Layers hold views
// into it, so it must outlive them; models keep it in a shared_ptr.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "qkv/core/tensor.hpp"
#include "qkv/io/checkpoint.hpp"

namespace qkv {

class WeightStore {
 public:
  WeightStore() = default;  // holds only what is kept
  // Names are looked up in the file as prefix + name (checkpoints nest models under prefixes).
  explicit WeightStore(io::SafetensorsFile file, std::string prefix = "")
      : file_(io::Checkpoint(std::move(file))), prefix_(std::move(prefix)) {}
  explicit WeightStore(io::Checkpoint checkpoint, std::string prefix = "")
      : file_(std::move(checkpoint)), prefix_(std::move(prefix)) {}

  bool contains(const std::string& name) const {
    return tensors_.count(name) != 0 || mapped_.count(name) != 0 || (file_ && file_->contains(prefix_ + name));
  }
  std::string source() const { return file_ ? file_->path() : std::string("weights built in code"); }
  // The shape of `name` (qkv::Error if absent).
  Shape shape_of(const std::string& name) const {
    if (auto it = tensors_.find(name); it != tensors_.end()) return it->second.shape();
    if (auto it = mapped_.find(name); it != mapped_.end()) return it->second.shape();
    if (!file_) fail(source(), ": no tensor '", name, "'");
    return file_->info(prefix_ + name).shape;
  }

  // The tensor `name`, which must have shape `expected`; qkv::Error naming both otherwise.
  TensorView<const float> get(const std::string& name, const Shape& expected) {
    const std::string what = "tensor '" + prefix_ + name + "' in " + source();
    if (auto it = mapped_.find(name); it != mapped_.end()) {
      expect_shape(it->second, expected, what);
      return it->second;
    }
    auto it = tensors_.find(name);
    if (it == tensors_.end()) {
      if (!file_) fail(source(), ": no tensor '", name, "'");
      if (file_->info(prefix_ + name).shape == expected)
        if (const auto view = file_->f32_view(prefix_ + name); !view.empty()) return mapped_.emplace(name, view).first->second;
      // Converted (or, on a shape mismatch, an error naming the file, tensor and both shapes).
      it = tensors_.emplace(name, file_->to_float(prefix_ + name, expected)).first;
    }
    expect_shape(it->second.view(), expected, what);
    return it->second.view();
  }
  // Like get, or an empty view when the file has no such tensor.
  TensorView<const float> get_optional(const std::string& name, const Shape& expected) {
    return contains(name) ? get(name, expected) : TensorView<const float>();
  }
  // Declares a stored tensor deliberately unused (e.g. GPT-2's attn.bias mask buffers).
  void ignore(const std::string& name) { ignored_.insert(name); }

  // Tensors of the file (under the prefix) that nothing has asked for: a loader checks this is
  // empty, so a misspelled or unexpected weight is an error rather than silently ignored.
  std::vector<std::string> unused() const {
    std::vector<std::string> names;
    if (!file_) return names;
    for (const std::string& full : file_->names())
      if (full.compare(0, prefix_.size(), prefix_) == 0) {
        const std::string name = full.substr(prefix_.size());
        if (tensors_.count(name) == 0 && mapped_.count(name) == 0 && ignored_.count(name) == 0) names.push_back(full);
      }
    return names;
  }
  void expect_all_used(const std::string& hint) const {
    const auto names = unused();
    if (names.empty()) return;
    std::string list;
    for (std::size_t i = 0; i < names.size() && i < 5; ++i) list += (i ? ", " : "") + names[i];
    if (names.size() > 5) list += ", ...";
    fail(source(), ": ", names.size(), " tensor(s) not used by the model (", hint, "): ", list);
  }

  // Lets the memory-mapped pages under a view go (after it was repacked): they leave this process's
  // resident set and are read back from the page cache if the view is used again.
  void release(TensorView<const float> view) const {
    if (!file_ || view.empty()) return;
    file_->release(view.data(), std::size_t(span_of(view)) * sizeof(float));
  }

  // Keeps a computed tensor (e.g. a sinusoidal table) alive with the weights.
  TensorView<const float> keep(const std::string& name, Tensor<float> t) {
    return tensors_.insert_or_assign(name, std::move(t)).first->second.view();
  }

 private:
  std::optional<io::Checkpoint> file_;
  std::string prefix_;
  // Elements spanned by a view: from its first to one past its last.
  static std::int64_t span_of(TensorView<const float> v) {
    std::int64_t span = 1;
    for (int d = 0; d < v.rank(); ++d) span += (v.dim(d) - 1) * v.stride(d);
    return span;
  }

  std::map<std::string, Tensor<float>> tensors_;  // node-based: views stay valid as it grows
  std::map<std::string, TensorView<const float>> mapped_;  // float32 tensors read in place
  std::set<std::string> ignored_;
};

}  // namespace qkv
