#pragma once
// qkv::io::MappedFile: a read-only memory map of a whole file. Weights stay in the page cache
// and are shared by every process that maps them; nothing is copied until a tensor is converted.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "qkv/core/error.hpp"

namespace qkv::io {

class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& o) noexcept
      : path_(std::move(o.path_)), data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  MappedFile& operator=(MappedFile&& o) noexcept {
    if (this != &o) {
      unmap();
      path_ = std::move(o.path_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~MappedFile() { unmap(); }

  // Maps `path` read-only. An empty file gives size() == 0 and data() == nullptr (mmap of
  // length 0 is an error, so nothing is mapped).
  static MappedFile open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open file ", path, ": ", std::strerror(errno));
    // The descriptor is only needed until the mapping exists; close it on every path.
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};

    struct stat st {};
    if (::fstat(fd, &st) != 0) fail("cannot stat file ", path, ": ", std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("cannot map file ", path, ": not a regular file");

    MappedFile f;
    f.path_ = path;
    f.size_ = std::size_t(st.st_size);
    if (f.size_ == 0) return f;
    void* p = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) fail("cannot map file ", path, ": ", std::strerror(errno));
    f.data_ = static_cast<const std::byte*>(p);
    return f;
  }

  // Drops this process's copy of the whole pages inside [p, p + bytes): they stay in the page
  // cache and are read back if touched again. Loaders call it once a weight has been repacked,
  // so the raw copy does not stay resident next to the packed one. Outside the mapping: no-op.
  void release(const void* p, std::size_t bytes) const {
    const auto* begin = static_cast<const std::byte*>(p);
    if (data_ == nullptr || begin < data_ || bytes > size_ || begin - data_ > std::ptrdiff_t(size_ - bytes)) return;
    const auto page = std::uintptr_t(::sysconf(_SC_PAGESIZE));
    const std::uintptr_t first = (reinterpret_cast<std::uintptr_t>(begin) + page - 1) / page * page;
    const std::uintptr_t last = (reinterpret_cast<std::uintptr_t>(begin) + bytes) / page * page;
    if (first < last) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  }

  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void unmap() noexcept {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = nullptr;
    size_ = 0;
  }

  std::string path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace qkv::io
