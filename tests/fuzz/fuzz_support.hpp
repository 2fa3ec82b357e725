#pragma once
// Shared by the libFuzzer targets (docs/fuzzing.md): what counts as a finding, and fuzz
// inputs as files for the readers that take a path.
//
// A target runs its entry point on one input and returns normally when the library accepts
// the input or rejects it with its documented typed error (ecco::Error or a subclass: for
// the readers and the decoder that is DataError / DecodeError, for the spec parsers
// ConfigError). Everything else is a finding and aborts the run (libFuzzer then saves the
// input as crash-*): any other exception, a broken invariant the target checks, a crash, an
// AddressSanitizer or UndefinedBehaviorSanitizer report (built with -fno-sanitize-recover),
// an allocation above -malloc_limit_mb, or more memory than -rss_limit_mb.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include "ecco/error.hpp"

namespace ecco_fuzz {

// Reports a finding on stderr and aborts (libFuzzer catches the signal and saves the input).
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "ecco fuzz finding: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// Runs f(); returns true if it returned, false if it threw an ecco::Error (the expected
// outcome for a bad input). Any other exception is a finding naming `where`.
template <class F>
bool accepts(const char* where, F&& f) {
  try {
    f();
    return true;
  } catch (const ecco::Error&) {
    return false;
  } catch (const std::exception& e) {
    finding(std::string(where) + " threw " + typeid(e).name() + " (not an ecco::Error): " + e.what());
  } catch (...) {
    finding(std::string(where) + " threw a non-std exception");
  }
}

// An in-memory file (memfd) whose contents are replaced per input; path() names it for
// readers that open files by path (/proc/self/fd/N: a regular file, re-opened from offset 0).
class MemFile {
 public:
  explicit MemFile(const char* name) : fd_(memfd_create(name, 0)) {
    if (fd_ < 0) finding("memfd_create failed");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  void assign(const void* data, std::size_t size) {
    if (ftruncate(fd_, 0) != 0) finding("ftruncate failed");
    const auto* p = static_cast<const unsigned char*>(data);
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = pwrite(fd_, p + done, size - done, static_cast<off_t>(done));
      if (n <= 0) finding("pwrite to the memfd failed");
      done += static_cast<std::size_t>(n);
    }
  }
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

}  // namespace ecco_fuzz
