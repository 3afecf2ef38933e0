#pragma once
// Reader and writer for the safetensors format
// (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length N, N bytes
// of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the data section. The whole header is validated in open(), so no accessor can read
// outside the mapped file. Tensor data may sit at any byte offset, so it is only ever read
// byte-wise into aligned, owning tensors.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkv/core/dtype.hpp"
#include "qkv/core/error.hpp"
#include "qkv/core/tensor.hpp"
#include "qkv/io/mapped_file.hpp"

namespace qkv::io {

struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  std::size_t begin = 0, end = 0;  // byte offsets within the data section
};

namespace detail {

// The format is little-endian whatever the host is; assembling bytes also avoids misaligned loads.
template <class U>
U load_le(const std::byte* p) {
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) v |= U(std::to_integer<unsigned>(p[i])) << (8 * i);
  return v;
}

template <class U>
void store_le(unsigned char* p, U v) {
  for (std::size_t i = 0; i < sizeof(U); ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
inline bool valid_utf8(const unsigned char* s, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = s[i];
    std::size_t len;
    unsigned lo = 0x80, hi = 0xbf;  // allowed range of the first continuation byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;  // overlong
      if (c == 0xed) hi = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;  // overlong
      if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return false;
    }
    if (n - i < len) return false;
    if (s[i + 1] < lo || s[i + 1] > hi) return false;
    for (std::size_t k = 2; k < len; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xbf) return false;
    i += len;
  }
  return true;
}

inline bool parse_dtype(const std::string& s, DType& out) {
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::f64, DType::i64, DType::i32, DType::u8, DType::boolean}) {
    if (s == dtype_name(t)) {
      out = t;
      return true;
    }
  }
  return false;
}

// F64 -> F32 rounding to nearest like a hardware conversion, without the undefined behaviour of
// casting a finite double beyond float's range.
inline float narrow_f64(double d) {
  if (std::isfinite(d) && std::fabs(d) > double(FLT_MAX)) {
    const float big = std::fabs(d) >= 0x1.ffffffp127 ? std::numeric_limits<float>::infinity() : FLT_MAX;
    return d < 0 ? -big : big;
  }
  return static_cast<float>(d);
}

}  // namespace detail

class SafetensorsFile {
 public:
  // Headers larger than this are rejected before parsing (the reference implementation's limit).
  static constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

  static SafetensorsFile open(const std::string& path) {
    SafetensorsFile f;
    f.file_ = MappedFile::open(path);
    f.parse_header();
    return f;
  }

  const std::string& path() const { return file_.path(); }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const auto& [name, info] : tensors_) out.push_back(name);
    return out;  // std::map iterates in sorted order
  }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) fail("safetensors file ", path(), ": no tensor '", name, "'");
    return it->second;
  }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Raw bytes of a tensor; possibly unaligned, so never cast this to a typed pointer.
  const std::byte* bytes(const TensorInfo& t) const { return data_ + t.begin; }

  // A float32 tensor read in place (no copy), when the file allows it: F32, 4-byte aligned, on a
  // little-endian host. Otherwise an empty view (use to_float).
  TensorView<const float> f32_view(const std::string& name) const {
    const TensorInfo& t = info(name);
    const std::byte* src = bytes(t);
    if (t.dtype != DType::f32 || reinterpret_cast<std::uintptr_t>(src) % alignof(float) != 0 ||
        __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
      return {};
    return TensorView<const float>(reinterpret_cast<const float*>(src), t.shape);
  }

  // See MappedFile::release.
  void release(const void* p, std::size_t bytes) const { file_.release(p, bytes); }

  // F32 copied, F16/BF16 widened exactly, F64 rounded to nearest.
  Tensor<float> to_float(const std::string& name) const {
    const TensorInfo& t = info(name);
    Tensor<float> out(t.shape);
    const std::byte* src = bytes(t);
    float* dst = out.data();
    const std::size_t n = std::size_t(t.shape.numel());
    switch (t.dtype) {
      case DType::f32:
        for (std::size_t i = 0; i < n; ++i) dst[i] = f32_from_bits(detail::load_le<std::uint32_t>(src + 4 * i));
        break;
      case DType::f16:
        for (std::size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(detail::load_le<std::uint16_t>(src + 2 * i));
        break;
      case DType::bf16:
        for (std::size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(detail::load_le<std::uint16_t>(src + 2 * i));
        break;
      case DType::f64:
        for (std::size_t i = 0; i < n; ++i) {
          const std::uint64_t bits = detail::load_le<std::uint64_t>(src + 8 * i);
          double d;
          std::memcpy(&d, &bits, 8);
          dst[i] = detail::narrow_f64(d);
        }
        break;
      default:
        fail("safetensors file ", path(), ": tensor '", name, "' has dtype ", dtype_name(t.dtype),
             ", expected a float dtype (F32, F16, BF16, F64)");
    }
    return out;
  }

  Tensor<float> to_float(const std::string& name, const Shape& expected) const {
    const TensorInfo& t = info(name);
    if (t.shape != expected)
      fail("safetensors file ", path(), ": tensor '", name, "': expected shape ", expected, ", got ", t.shape);
    return to_float(name);
  }

  // I64 copied; I32, U8 and BOOL (as 0/1) widened.
  Tensor<std::int64_t> to_int64(const std::string& name) const {
    const TensorInfo& t = info(name);
    Tensor<std::int64_t> out(t.shape);
    const std::byte* src = bytes(t);
    std::int64_t* dst = out.data();
    const std::size_t n = std::size_t(t.shape.numel());
    switch (t.dtype) {
      case DType::i64:
        for (std::size_t i = 0; i < n; ++i) dst[i] = std::int64_t(detail::load_le<std::uint64_t>(src + 8 * i));
        break;
      case DType::i32:
        for (std::size_t i = 0; i < n; ++i) dst[i] = std::int32_t(detail::load_le<std::uint32_t>(src + 4 * i));
        break;
      case DType::u8:
        for (std::size_t i = 0; i < n; ++i) dst[i] = std::to_integer<std::int64_t>(src[i]);
        break;
      case DType::boolean:
        for (std::size_t i = 0; i < n; ++i) dst[i] = src[i] != std::byte{0} ? 1 : 0;
        break;
      default:
        fail("safetensors file ", path(), ": tensor '", name, "' has dtype ", dtype_name(t.dtype),
             ", expected an integer dtype (I64, I32, U8, BOOL)");
    }
    return out;
  }

 private:
  SafetensorsFile() = default;

  template <class... Parts>
  [[noreturn]] void bad(const Parts&... parts) const {
    fail("safetensors file ", path(), ": ", parts...);
  }

  void parse_header() {
    const std::size_t size = file_.size();
    if (size < 8) bad("is ", size, " bytes, expected at least 8 (the header length)");
    const std::uint64_t header_len = detail::load_le<std::uint64_t>(file_.data());
    if (header_len > kMaxHeaderBytes) bad("header length ", header_len, " exceeds the limit of ", kMaxHeaderBytes);
    if (header_len > size - 8) bad("header length ", header_len, " exceeds the ", size - 8, " bytes after it");

    const char* header = reinterpret_cast<const char*>(file_.data() + 8);
    if (!detail::valid_utf8(reinterpret_cast<const unsigned char*>(header), header_len))
      bad("header is not valid UTF-8");

    nlohmann::json root;
    try {
      root = nlohmann::json::parse(header, header + header_len, duplicate_checker());
    } catch (const nlohmann::json::parse_error& e) {
      bad("header is not valid JSON: ", e.what());
    }
    if (!root.is_object()) bad("header is a JSON ", root.type_name(), ", expected an object");

    const std::size_t data_size = size - 8 - std::size_t(header_len);
    for (const auto& [name, entry] : root.items()) {
      if (name == "__metadata__")
        read_metadata(entry);
      else
        tensors_.emplace(name, read_entry(name, entry, data_size));
    }
    check_layout(data_size);
    data_ = file_.data() + 8 + header_len;
  }

  // nlohmann keeps the last of duplicate keys silently; refuse them while parsing instead.
  nlohmann::json::parser_callback_t duplicate_checker() const {
    auto keys = std::make_shared<std::vector<std::set<std::string>>>();  // one set per open object
    return [this, keys](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      using E = nlohmann::json::parse_event_t;
      if (event == E::object_start) keys->emplace_back();
      if (event == E::object_end) keys->pop_back();
      if (event == E::key && !keys->back().insert(parsed.get<std::string>()).second) {
        if (keys->size() == 1) bad("duplicate tensor '", parsed.get<std::string>(), "'");
        bad("duplicate key '", parsed.get<std::string>(), "'");
      }
      return true;
    };
  }

  void read_metadata(const nlohmann::json& m) {
    if (!m.is_object()) bad("__metadata__ is a JSON ", m.type_name(), ", expected an object of strings");
    for (const auto& [key, value] : m.items()) {
      if (!value.is_string())
        bad("__metadata__ entry '", key, "' is a JSON ", value.type_name(), ", expected a string");
      metadata_[key] = value.get<std::string>();
    }
  }

  // A JSON number that is a non-negative integer (nlohmann stores those as unsigned).
  static bool is_count(const nlohmann::json& v) { return v.is_number_unsigned(); }

  TensorInfo read_entry(const std::string& name, const nlohmann::json& e, std::size_t data_size) const {
    const std::string where = "tensor '" + name + "'";
    if (!e.is_object()) bad(where, " is a JSON ", e.type_name(), ", expected an object");
    for (const auto& [key, value] : e.items())
      if (key != "dtype" && key != "shape" && key != "data_offsets")
        bad(where, ": unexpected key '", key, "', expected only dtype, shape, data_offsets");
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!e.contains(key)) bad(where, ": missing key '", key, "'");

    TensorInfo t;
    t.name = name;
    const auto& dtype = e["dtype"];
    if (!dtype.is_string()) bad(where, ": dtype is a JSON ", dtype.type_name(), ", expected a string");
    if (!detail::parse_dtype(dtype.get<std::string>(), t.dtype))
      bad(where, ": unsupported dtype '", dtype.get<std::string>(),
          "', expected one of F32, F16, BF16, F64, I64, I32, U8, BOOL");

    const auto& shape = e["shape"];
    if (!shape.is_array()) bad(where, ": shape is a JSON ", shape.type_name(), ", expected an array");
    if (shape.size() > std::size_t(kMaxRank))
      bad(where, ": shape has rank ", shape.size(), ", at most ", kMaxRank, " supported");
    std::array<std::int64_t, kMaxRank> dims{};
    // Partial products must fit in int64 (Shape::numel computes them) and so must the byte count.
    constexpr std::uint64_t kMax = std::uint64_t(std::numeric_limits<std::int64_t>::max());
    std::uint64_t bytes = dtype_size(t.dtype), numel = 1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (!is_count(shape[i])) bad(where, ": shape entry ", shape[i].dump(), " is not a non-negative integer");
      const std::uint64_t d = shape[i].get<std::uint64_t>();
      if (d > kMax || (d != 0 && numel > kMax / d))
        bad(where, ": shape ", shape.dump(), " overflows the element count");
      numel *= d;
      dims[i] = std::int64_t(d);
    }
    if (numel != 0 && bytes > kMax / numel) bad(where, ": shape ", shape.dump(), " overflows the byte size");
    bytes *= numel;
    t.shape = Shape::from_range(dims.begin(), dims.begin() + std::ptrdiff_t(shape.size()));

    const auto& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !is_count(off[0]) || !is_count(off[1]))
      bad(where, ": data_offsets is ", off.dump(), ", expected [begin, end] of non-negative integers");
    const std::uint64_t begin = off[0].get<std::uint64_t>(), end = off[1].get<std::uint64_t>();
    if (end < begin) bad(where, ": data_offsets ", off.dump(), " end before begin");
    if (end - begin != bytes)
      bad(where, ": data_offsets ", off.dump(), " span ", end - begin, " bytes, expected ", bytes, " for ",
          dtype_name(t.dtype), " ", t.shape);
    if (end > data_size)
      bad(where, ": data_offsets ", off.dump(), " run past the data section of ", data_size, " bytes");
    t.begin = std::size_t(begin);
    t.end = std::size_t(end);
    return t;
  }

  // Sorted by offset the tensors must tile [0, data_size) exactly: no gaps, overlaps or tail.
  void check_layout(std::size_t data_size) const {
    std::vector<const TensorInfo*> order;
    for (const auto& [name, t] : tensors_) order.push_back(&t);
    std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
      return std::tie(a->begin, a->end) < std::tie(b->begin, b->end);
    });
    std::size_t at = 0;
    const TensorInfo* prev = nullptr;
    for (const TensorInfo* t : order) {
      if (t->begin > at) {
        if (prev == nullptr)
          bad("tensor '", t->name, "' starts at byte ", t->begin, ", expected the first tensor at 0");
        bad("gap between tensor '", prev->name, "' (ends at ", at, ") and tensor '", t->name, "' (starts at ",
            t->begin, ")");
      }
      if (t->begin < at)
        bad("tensor '", t->name, "' (starts at ", t->begin, ") overlaps tensor '", prev->name, "' (ends at ", at, ")");
      at = t->end;
      prev = t;
    }
    if (at != data_size)
      bad("data section is ", data_size, " bytes, expected ", at, " (the end of the last tensor)",
          at < data_size ? ": trailing bytes" : ": file truncated");
  }

  MappedFile file_;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
  const std::byte* data_ = nullptr;
};

// Writes a standard safetensors file: I64 tensors first, then F32, so with the header padded to a
// multiple of 8 every tensor is aligned to its element size. Views may be non-contiguous.
inline void write_safetensors(const std::string& path,
                              const std::vector<std::pair<std::string, TensorView<const float>>>& floats,
                              const std::vector<std::pair<std::string, TensorView<const std::int64_t>>>& ints = {},
                              const std::map<std::string, std::string>& metadata = {}) {
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  auto add = [&](const std::string& name, const auto& view, const char* dtype, std::size_t elem) {
    if (name == "__metadata__" || header.contains(name))
      fail("write_safetensors ", path, ": tensor name '", name, "' is reserved or used twice");
    if (view.data() == nullptr && view.numel() != 0)
      fail("write_safetensors ", path, ": tensor '", name, "' is an empty view");
    std::vector<std::int64_t> shape;
    for (int i = 0; i < view.rank(); ++i) shape.push_back(view.dim(i));
    const std::uint64_t end = offset + std::uint64_t(view.numel()) * elem;
    header[name] = {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {offset, end}}};
    offset = end;
  };
  for (const auto& [name, v] : ints) add(name, v, "I64", 8);
  for (const auto& [name, v] : floats) add(name, v, "F32", 4);
  if (!metadata.empty()) header["__metadata__"] = metadata;

  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {  // names or metadata that are not UTF-8
    fail("write_safetensors ", path, ": cannot encode the header: ", e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  // The guard closes the file if copying a view throws (bad_alloc); the normal path closes it below.
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> file(std::fopen(path.c_str(), "wb"));
  if (!file) fail("write_safetensors: cannot open ", path, " for writing: ", std::strerror(errno));
  int err = 0;  // errno of the first failure
  auto write = [&](const void* p, std::size_t n) {
    if (err != 0 || n == 0) return;
    errno = 0;
    if (std::fwrite(p, 1, n, file.get()) != n) err = errno != 0 ? errno : EIO;
  };

  unsigned char len[8];
  detail::store_le<std::uint64_t>(len, text.size());
  write(len, 8);
  write(text.data(), text.size());
  // Each view is made contiguous, then serialized little-endian one tensor at a time.
  std::vector<unsigned char> buf;
  for (const auto& [name, v] : ints) {
    const Tensor<std::int64_t> c = Tensor<std::int64_t>::copy_of(v);
    buf.resize(std::size_t(c.numel()) * 8);
    for (std::size_t i = 0; i < std::size_t(c.numel()); ++i) detail::store_le(&buf[8 * i], std::uint64_t(c.data()[i]));
    write(buf.data(), buf.size());
  }
  for (const auto& [name, v] : floats) {
    const Tensor<float> c = Tensor<float>::copy_of(v);
    buf.resize(std::size_t(c.numel()) * 4);
    for (std::size_t i = 0; i < std::size_t(c.numel()); ++i) detail::store_le(&buf[4 * i], f32_bits(c.data()[i]));
    write(buf.data(), buf.size());
  }
  errno = 0;
  if (std::fclose(file.release()) != 0 && err == 0) err = errno != 0 ? errno : EIO;
  if (err != 0) {
    std::remove(path.c_str());  // never leave a truncated file behind
    fail("write_safetensors: cannot write ", path, ": ", std::strerror(err));
  }
}

}  // namespace qkv::io
