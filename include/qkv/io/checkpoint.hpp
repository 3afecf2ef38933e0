#pragma once
// A model's weights on disk: one model.safetensors, or shards listed by
// model.safetensors.index.json ({"weight_map": {tensor: shard file}}).
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "qkv/io/json_config.hpp"
#include "qkv/io/safetensors.hpp"

namespace qkv::io {

class Checkpoint {
 public:
  explicit Checkpoint(SafetensorsFile file) : description_(file.path()) {
    auto shared = std::make_shared<SafetensorsFile>(std::move(file));
    for (const auto& name : shared->names()) shard_of_[name] = shared;
  }

  // dir/model.safetensors, else dir/model.safetensors.index.json and its shards.
  static Checkpoint open_dir(const std::string& dir) {
    const std::string single = dir + "/model.safetensors", index = single + ".index.json";
    if (std::ifstream(single).good()) return Checkpoint(SafetensorsFile::open(single));
    if (!std::ifstream(index).good()) fail(dir, ": no model.safetensors or model.safetensors.index.json");
    return open_index(dir, index);
  }

  static Checkpoint open_index(const std::string& dir, const std::string& index_path) {
    const JsonConfig index = JsonConfig::load(index_path);
    const auto map = index.object_or_none("weight_map");
    if (!map) fail(index_path, ": missing \"weight_map\"");
    Checkpoint c;
    c.description_ = index_path;
    std::map<std::string, std::shared_ptr<SafetensorsFile>> shards;
    for (const auto& [name, shard] : map->json().items()) {
      if (!shard.is_string()) fail(index_path, ": weight_map[\"", name, "\"] must be a file name");
      const std::string file = shard.get<std::string>();
      // Shards live beside the index: a path or ".." could read any file on the machine.
      if (file.empty() || file.find('/') != std::string::npos || file.find('\\') != std::string::npos || file.find("..") != std::string::npos)
        fail(index_path, ": shard name '", file, "' for tensor '", name, "' must be a plain file name");
      auto& opened = shards[file];
      if (!opened) opened = std::make_shared<SafetensorsFile>(SafetensorsFile::open(dir + "/" + file));
      if (!opened->contains(name)) fail(index_path, ": tensor '", name, "' is not in its shard ", opened->path());
      c.shard_of_[name] = opened;
    }
    return c;
  }

  const std::string& path() const { return description_; }
  bool contains(const std::string& name) const { return shard_of_.count(name) != 0; }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& entry : shard_of_) out.push_back(entry.first);
    return out;
  }
  const SafetensorsFile& file_of(const std::string& name) const {
    const auto it = shard_of_.find(name);
    if (it == shard_of_.end()) fail(description_, ": no tensor '", name, "'");
    return *it->second;
  }
  const TensorInfo& info(const std::string& name) const { return file_of(name).info(name); }
  Tensor<float> to_float(const std::string& name, const Shape& expected) const { return file_of(name).to_float(name, expected); }
  TensorView<const float> f32_view(const std::string& name) const { return file_of(name).f32_view(name); }
  // Releases [p, p + bytes) in whichever shard maps it (see MappedFile::release).
  void release(const void* p, std::size_t bytes) const {
    for (const auto& entry : shard_of_) entry.second->release(p, bytes);
  }

 private:
  Checkpoint() = default;
  std::string description_;
  std::map<std::string, std::shared_ptr<SafetensorsFile>> shard_of_;
};

}  // namespace qkv::io
