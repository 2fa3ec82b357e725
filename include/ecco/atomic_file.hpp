#pragma once
// AtomicFile: an output file that appears at its path only when complete. It is written
// to "<path>.partial" (created by the constructor, so an unwritable path fails early) and
// renamed to <path> by commit(); destroyed without commit, it removes the partial file and
// leaves whatever was at <path> untouched.
#include <cstdio>
#include <string>

namespace ecco {

class AtomicFile {
 public:
  // Throws ConfigError naming `flag` (e.g. "--out") if the partial file cannot be created.
  AtomicFile(std::string path, std::string flag);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::FILE* stream() { return file_; }
  // Flushes, closes and renames; throws Error on a write or rename failure (disk full).
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string partial_;
  std::string flag_;
  std::FILE* file_ = nullptr;
};

}  // namespace ecco
