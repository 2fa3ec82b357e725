// The allocation counter of allocation_counter.hpp: replacements of the global operator new /
// delete (malloc / free underneath) and of malloc (forwarding to glibc's own allocator, so
// free, realloc and calloc stay consistent).
#include "allocation_counter.hpp"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> armed{false};
std::atomic<long> operator_new_calls{0};
std::atomic<long> malloc_calls{0};
constexpr long kTracedCalls = 4096;
void* malloc_callers[kTracedCalls];  // return addresses of the first counted malloc calls
}  // namespace

void* operator new(std::size_t size) {
  if (armed.load(std::memory_order_relaxed)) operator_new_calls.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

// AddressSanitizer replaces malloc itself: no counting there.
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#define ECCO_COUNT_MALLOC 1
extern "C" void* __libc_malloc(std::size_t size);
extern "C" void* malloc(std::size_t size) noexcept {
  if (armed.load(std::memory_order_relaxed)) {
    const long k = malloc_calls.fetch_add(1, std::memory_order_relaxed);
    if (k < kTracedCalls) malloc_callers[k] = __builtin_return_address(0);
  }
  return __libc_malloc(size);
}
#endif

namespace ecco::test {

void arm_allocation_counter() {
  operator_new_calls = 0;
  malloc_calls = 0;
  armed = true;
}

AllocationCount disarm_allocation_counter() {
  armed = false;
  return {.operator_new = operator_new_calls.load(), .malloc = malloc_calls.load()};
}

long malloc_calls_outside(std::initializer_list<std::string_view> libraries) {
  const long calls = malloc_calls.load();
  long outside = calls > kTracedCalls ? calls - kTracedCalls : 0;
  for (long k = 0; k < calls && k < kTracedCalls; ++k) {
    Dl_info info{};
    const std::string_view file = dladdr(malloc_callers[k], &info) != 0 && info.dli_fname != nullptr ? info.dli_fname : "";
    bool listed = false;
    for (const std::string_view library : libraries) listed = listed || file.find(library) != std::string_view::npos;
    if (!listed) ++outside;
  }
  return outside;
}

bool malloc_is_counted() {
#ifdef ECCO_COUNT_MALLOC
  return true;
#else
  return false;
#endif
}

}  // namespace ecco::test
