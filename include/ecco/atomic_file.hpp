#pragma once
// AtomicFile: an output file that appears at its path only when complete, written by one
// run at a time.
//  * It is written to a temporary file of its own in the same folder,
//    "<path>.partial.<pid>.<random>" (created with O_CREAT | O_EXCL by the constructor, so an
//    unwritable path fails early and two writers never share one), and renamed to <path> by
//    commit(); destroyed without commit, it removes that file and leaves whatever was at
//    <path> untouched.
//  * From construction to commit or destruction it holds an advisory lock (flock) on
//    "<path>.lock", which holds "pid <pid> on host <host>": a second AtomicFile for the same
//    path, in this process or another run, is refused with a ConfigError naming that pid.
//    The lock file is removed when the lock is released; one left by a killed process holds
//    no lock and is taken over. On a file system without locks (flock fails with ENOLCK or
//    EOPNOTSUPP) the file is written without one.
#include <cstdio>
#include <string>

namespace ecco {

class AtomicFile {
 public:
  // Throws ConfigError naming `flag` (e.g. "--out") if <path> exists and is not a regular
  // file, if another writer holds the lock, or if the lock or temporary file cannot be
  // created.
  AtomicFile(std::string path, std::string flag);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::FILE* stream() { return file_; }
  // The temporary file's and the lock file's paths (for clean-up after a signal).
  const std::string& partial_path() const { return partial_; }
  const std::string& lock_path() const { return lock_; }
  // Flushes, closes and renames, then releases the lock; throws Error on a write or rename
  // failure (disk full).
  void commit();
  const std::string& path() const { return path_; }

 private:
  void lock();
  void unlock();

  std::string path_;
  std::string partial_;
  std::string lock_;
  std::string flag_;
  std::FILE* file_ = nullptr;
  int lock_fd_ = -1;
};

// True if the paths a and b name the same file: the same device and inode (links followed)
// when both exist, the same canonical path (std::filesystem::weakly_canonical: ".." and
// links of the existing part resolved) when neither does, false when only one exists. For
// refusing an output that would overwrite an input, or two outputs that are one file.
bool same_file(const std::string& a, const std::string& b);

}  // namespace ecco
