#pragma once
// qkv::Workspace: reusable scratch memory for the temporaries of a forward pass, so that a forward
// pass allocates nothing once its workspace has seen the shapes (design principle 1).
//
//   Workspace::Scope scope(current_workspace());
//   TensorView<float> q = scope.take<float>({batch, length, width});  // uninitialised
//   ...                                                               // q is released at scope end
//
// A stack (arena) of memory: take() hands out the next bytes, 64-byte aligned and NOT initialised;
// a Scope releases everything taken since it began. Scopes nest like the calls that open them.
//
// The growth rule: a view stays valid until the scope it was taken in ends. When a take() does
// not fit, the workspace chains a new block and never moves or frees a block while anything is
// taken, so views handed out earlier stay valid. When the outermost scope ends (nothing is taken)
// and the memory is spread over several blocks, they are merged into one block of their total
// size: the next forward pass of the same shapes then fits without allocating.
//
// A workspace belongs to one thread at a time. The library takes its scratch from
// current_workspace(): the one a UseWorkspace guard installed on the calling thread (a request's
// state owns one: DecoderState, Seq2SeqState), or else the calling thread's own thread_local one.
// Thread-pool tasks run on other threads, where current_workspace() is that thread's own, so
// concurrent tasks never share an arena (the calling thread runs its share of the tasks in its
// own current workspace, one task after another, each in its own scope).
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "qkv/core/tensor.hpp"

namespace qkv {

class Workspace {
 private:
  struct Mark {
    std::size_t block = 0, used = 0;  // the current block and the bytes taken from it
  };
  struct Free {
    void operator()(std::byte* p) const { ::operator delete(p, std::align_val_t(kTensorAlignment)); }
  };
  struct Block {
    std::unique_ptr<std::byte, Free> data;
    std::size_t size = 0;
  };

 public:
  Workspace() = default;
  // Moves only while nothing is taken (states are moved when made); the source is left empty.
  Workspace(Workspace&& o) noexcept : blocks_(std::move(o.blocks_)), mark_(std::exchange(o.mark_, Mark{})) { o.blocks_.clear(); }
  Workspace& operator=(Workspace&& o) noexcept {
    blocks_ = std::move(o.blocks_);
    o.blocks_.clear();
    mark_ = std::exchange(o.mark_, Mark{});
    return *this;
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  // Takes memory for a tensor of `shape` until the enclosing Scope ends.
  class Scope {
   public:
    explicit Scope(Workspace& ws) : ws_(ws), mark_(ws.mark_) {}
    ~Scope() { ws_.release(mark_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

    template <class T>
    TensorView<T> take(Shape shape) {
      static_assert(std::is_trivially_copyable_v<T> && kTensorAlignment % alignof(T) == 0, "scratch holds plain numbers");
      return TensorView<T>(static_cast<T*>(ws_.take_bytes(std::size_t(shape.numel()) * sizeof(T))), shape);
    }

   private:
    Workspace& ws_;
    const Mark mark_;
  };

  // Bytes held (all blocks), taken or not.
  std::size_t capacity() const {
    std::size_t total = 0;
    for (const Block& b : blocks_) total += b.size;
    return total;
  }

 private:
  static constexpr std::size_t kFirstBlock = std::size_t(1) << 16;

  static Block allocate(std::size_t bytes, const std::nothrow_t& nothrow) {
    return {std::unique_ptr<std::byte, Free>(
                static_cast<std::byte*>(::operator new(bytes, std::align_val_t(kTensorAlignment), nothrow))),
            bytes};
  }
  static Block allocate(std::size_t bytes) {
    return {std::unique_ptr<std::byte, Free>(static_cast<std::byte*>(::operator new(bytes, std::align_val_t(kTensorAlignment)))),
            bytes};
  }

  void* take_bytes(std::size_t bytes) {
    bytes = (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;  // keeps the next take aligned
    if (bytes == 0) bytes = kTensorAlignment;  // distinct non-null pointers, as new gives
    // Blocks after the current one are free (scopes release in order): use the first that fits.
    while (mark_.block < blocks_.size() && mark_.used + bytes > blocks_[mark_.block].size) ++mark_.block, mark_.used = 0;
    if (mark_.block == blocks_.size()) {  // double what is held, so a forward pass chains few blocks
      blocks_.reserve(blocks_.size() + 1);  // may throw: nothing has changed yet
      blocks_.push_back(allocate(std::max({bytes, capacity(), kFirstBlock})));
    }
    std::byte* p = blocks_[mark_.block].data.get() + mark_.used;
    mark_.used += bytes;
#ifndef NDEBUG
    std::memset(p, 0xff, bytes);  // NaN floats, -1 integers: a read before the first write shows up in tests
#endif
    return p;
  }

  void release(const Mark& m) noexcept {
    mark_ = m;
    if (m.block != 0 || m.used != 0 || blocks_.size() < 2) return;
    // Nothing is taken: merge the chain into one block. Without memory for it, keep the chain.
    Block merged = allocate(capacity(), std::nothrow);
    if (!merged.data) return;
    blocks_.clear();
    blocks_.push_back(std::move(merged));  // fits: clear() kept the vector's capacity
  }

  std::vector<Block> blocks_;
  Mark mark_;
};

namespace detail {
inline Workspace*& installed_workspace() {
  static thread_local Workspace* ws = nullptr;
  return ws;
}
}  // namespace detail

// The calling thread's own workspace (what current_workspace() is without a UseWorkspace).
inline Workspace& thread_workspace() {
  static thread_local Workspace ws;
  return ws;
}

// The workspace the library takes scratch from on this thread: the innermost UseWorkspace's, or
// the thread's own.
inline Workspace& current_workspace() {
  Workspace* installed = detail::installed_workspace();
  return installed ? *installed : thread_workspace();
}

// Makes `ws` the calling thread's current_workspace() for the guard's lifetime (guards nest).
class UseWorkspace {
 public:
  explicit UseWorkspace(Workspace& ws) : saved_(detail::installed_workspace()) { detail::installed_workspace() = &ws; }
  ~UseWorkspace() { detail::installed_workspace() = saved_; }
  UseWorkspace(const UseWorkspace&) = delete;
  UseWorkspace& operator=(const UseWorkspace&) = delete;

 private:
  Workspace* saved_;
};

}  // namespace qkv
