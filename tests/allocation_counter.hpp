#pragma once
// Counts the allocations a test binary makes while armed: every call of the global operator
// new (C++ containers, Eigen's fixed-size helpers), and, on glibc without AddressSanitizer,
// every call of malloc (what Eigen's dynamic matrices and C libraries such as Open MPI
// allocate with). Link tests/allocation_counter.cpp into the binary: it replaces operator
// new / delete and malloc for the whole program. Counts from all threads.
#include <initializer_list>
#include <string_view>

namespace ecco::test {

struct AllocationCount {
  long operator_new = 0;
  long malloc = 0;  // 0 where malloc_is_counted() is false
};

// Resets the counts and starts counting.
void arm_allocation_counter();
// Stops counting; returns what was counted since arm_allocation_counter().
AllocationCount disarm_allocation_counter();
// Whether malloc calls are counted in this build (glibc, no AddressSanitizer).
bool malloc_is_counted();
// After disarm_allocation_counter(): the counted malloc calls whose caller is not in a
// shared object whose path contains one of `libraries` (found with dladdr on the return
// address; the first 4096 calls are traced, any beyond count as outside).
long malloc_calls_outside(std::initializer_list<std::string_view> libraries);

}  // namespace ecco::test
