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
  // Throws ConfigError naming `flag` (e.g. "--out") if <path> exists and is not a regular
  // file, or if the partial file cannot be created.
  AtomicFile(std::string path, std::string flag);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::FILE* stream() { return file_; }
  // The partial file's path (for clean-up after a signal).
  const std::string& partial_path() const { return partial_; }
  // Flushes, closes and renames; throws Error on a write or rename failure (disk full).
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string partial_;
  std::string flag_;
  std::FILE* file_ = nullptr;
};

// True if the paths a and b name the same file: the same device and inode (links followed)
// when both exist, the same canonical path (std::filesystem::weakly_canonical: ".." and
// links of the existing part resolved) when neither does, false when only one exists. For
// refusing an output that would overwrite an input, or two outputs that are one file.
bool same_file(const std::string& a, const std::string& b);

}  // namespace ecco
