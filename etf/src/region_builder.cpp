#include "region_builder.hpp"

#include <algorithm>

namespace edist::etf::detail {

namespace {

struct kept_term : region_finalizer {
  term kept;
};

struct kept_owner : region_finalizer {
  std::shared_ptr<const void> owner;
};

struct fun_finalizer : region_finalizer {
  fun_node* fun;
};

}  // namespace

std::pair<unsigned char*, unsigned char*> region_builder::refill(std::size_t bytes) {
  if (region_ == nullptr) {
    std::size_t size =
        std::clamp(round_up(expected_growth * input_bytes_ + sizeof(region)), min_chunk, max_chunk);
    size = std::max(size, sizeof(region) + bytes);
    if (max_growth * input_bytes_ + sizeof(region) <= tiny_chunk &&
        sizeof(region) + bytes <= tiny_chunk) {
      size = tiny_chunk;
    } else {
      size = std::max(size, smallest_chunk);
    }
    std::uint8_t pool_class;
    auto* memory = static_cast<unsigned char*>(chunk_allocate(size, pool_class));
    region_ = new (memory) region();
    region_->pool_class = pool_class;
    region_->owner = region_;
    region_->next = nullptr;
    chunk_start_ = memory;
    cursor_ = memory + sizeof(region) + bytes;
    limit_ = memory + size;
    next_chunk_ = std::min(2 * size, max_chunk);
    return {memory + sizeof(region), memory};
  }
  std::size_t chunk_bytes = sizeof(region_chunk) + bytes;
  bool own_chunk = bytes > next_chunk_ / 4;
  std::size_t size = own_chunk ? chunk_bytes : next_chunk_;
  auto* memory = static_cast<unsigned char*>(::operator new(size));
  auto* chunk = new (memory) region_chunk{region_, region_->next};
  region_->next = chunk;
  if (!own_chunk) {
    chunk_start_ = memory;
    cursor_ = memory + chunk_bytes;
    limit_ = memory + size;
    next_chunk_ = std::min(2 * next_chunk_, max_chunk);
  }
  return {memory + sizeof(region_chunk), memory};
}

template <class F>
F* region_builder::make_finalizer() {
  static_assert(alignof(F) <= 16);
  std::size_t bytes = round_up(sizeof(F));
  unsigned char* memory = cursor_;
  if (region_ != nullptr && static_cast<std::size_t>(limit_ - cursor_) >= bytes) {
    cursor_ += bytes;
  } else {
    memory = refill(bytes).first;
  }
  F* f = new (memory) F();
  f->next = region_->finalizers;
  region_->finalizers = f;
  return f;
}

void region_builder::keep(const term& t) {
  auto* f = make_finalizer<kept_term>();
  f->kept = t;
  f->run = [](region_finalizer* self) noexcept { static_cast<kept_term*>(self)->~kept_term(); };
}

void region_builder::keep(const std::shared_ptr<const void>& owner) {
  auto* f = make_finalizer<kept_owner>();
  f->owner = owner;
  f->run = [](region_finalizer* self) noexcept { static_cast<kept_owner*>(self)->~kept_owner(); };
}

void region_builder::finalize_fun(fun_node* fun) {
  auto* f = make_finalizer<fun_finalizer>();
  f->fun = fun;
  f->run = [](region_finalizer* self) noexcept {
    fun_node* n = static_cast<fun_finalizer*>(self)->fun;
    fun_fields& fields = n->fields;
    for (term* t :
         {&fields.module, &fields.function, &fields.old_index, &fields.old_uniq, &fields.pid}) {
      term_builder_access::forget(*t);
    }
    for (term& v : fields.free_vars) term_builder_access::forget(v);
    n->~fun_node();
  };
}

}  // namespace edist::etf::detail
