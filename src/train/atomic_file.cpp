#include "ecco/atomic_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "ecco/error.hpp"

namespace ecco {
namespace {

bool same_inode(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// "pid <pid> on host <host>": who holds a lock.
std::string this_process() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "?");
  return "pid " + std::to_string(::getpid()) + " on host " + host;
}

// The holder a lock file names (its first line), or "" when it is empty or unreadable.
std::string holder_of(int fd) {
  char text[512] = {};
  const ssize_t got = ::pread(fd, text, sizeof text - 1, 0);
  if (got <= 0) return "";
  std::string holder(text, static_cast<std::size_t>(got));
  if (const auto newline = holder.find('\n'); newline != std::string::npos) holder.resize(newline);
  return holder;
}

}  // namespace

AtomicFile::AtomicFile(std::string path, std::string flag)
    : path_(std::move(path)), lock_(path_ + ".lock"), flag_(std::move(flag)) {
  std::error_code error;
  const auto status = std::filesystem::status(path_, error);
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    throw ConfigError(flag_ + " " + path_ + ": exists and is not a regular file (a directory or a device?)");
  }
  lock();
  // A name no other writer uses: the pid and a random suffix, created exclusively.
  std::random_device entropy;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(entropy()));
    partial_ = path_ + ".partial." + std::to_string(::getpid()) + "." + suffix;
    fd = ::open(partial_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd >= 0) file_ = ::fdopen(fd, "w");
  if (file_ == nullptr) {
    const std::string reason = std::strerror(errno);
    if (fd >= 0) {
      ::close(fd);
      ::unlink(partial_.c_str());
    }
    unlock();
    throw ConfigError(flag_ + " " + path_ + ": cannot create " + partial_ + " (" + reason + ")");
  }
}

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(partial_.c_str());
  }
  unlock();
}

// Takes the lock on <path>.lock. The lock file may be removed by its holder between our
// open and our flock (unlock removes it while still holding the lock): then the lock we got
// is on a file nobody else will open, so check that the path still names it, and retry.
void AtomicFile::lock() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(lock_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
      throw ConfigError(flag_ + " " + path_ + ": cannot create " + lock_ + " (" + std::strerror(errno) + ")");
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int reason = errno;
      if (reason == ENOLCK || reason == EOPNOTSUPP || reason == ENOSYS) {
        // No locks on this file system: unique temporaries still keep writers apart.
        ::close(fd);
        ::unlink(lock_.c_str());
        return;
      }
      const std::string holder = reason == EWOULDBLOCK ? holder_of(fd) : std::string();
      ::close(fd);
      if (reason == EWOULDBLOCK) {
        throw ConfigError(flag_ + " " + path_ + ": another run (" + (holder.empty() ? "pid unknown" : holder) +
                          ") is writing this file (it holds " + lock_ +
                          "); wait for it to finish or choose another path");
      }
      throw ConfigError(flag_ + " " + path_ + ": cannot lock " + lock_ + " (" + std::strerror(reason) + ")");
    }
    struct stat held {};
    struct stat named {};
    if (::fstat(fd, &held) == 0 && ::stat(lock_.c_str(), &named) == 0 && same_inode(held, named)) {
      // Who holds it, for the message of a refused writer (the lock holds without it).
      const std::string holder = this_process() + "\n";
      if (::ftruncate(fd, 0) == 0) {
        [[maybe_unused]] const ssize_t written = ::pwrite(fd, holder.data(), holder.size(), 0);
      }
      lock_fd_ = fd;
      return;
    }
    ::close(fd);
  }
  throw ConfigError(flag_ + " " + path_ + ": cannot take the lock " + lock_ + " (it keeps being replaced)");
}

// Removes the lock file while holding the lock (see lock()), then releases it.
void AtomicFile::unlock() {
  if (lock_fd_ < 0) return;
  ::unlink(lock_.c_str());
  ::close(lock_fd_);
  lock_fd_ = -1;
}

void AtomicFile::commit() {
  const bool write_failed = std::ferror(file_) != 0;
  const bool close_failed = std::fclose(file_) != 0;
  file_ = nullptr;
  if (write_failed || close_failed) {
    std::remove(partial_.c_str());
    unlock();
    throw Error(flag_ + " " + path_ + ": writing failed (disk full?)");
  }
  if (std::rename(partial_.c_str(), path_.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(partial_.c_str());
    unlock();
    throw Error(flag_ + " " + path_ + ": cannot rename " + partial_ + " (" + reason + ")");
  }
  unlock();
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {};
  struct stat sb {};
  const bool a_exists = ::stat(a.c_str(), &sa) == 0;
  const bool b_exists = ::stat(b.c_str(), &sb) == 0;
  if (a_exists && b_exists) return same_inode(sa, sb);
  if (a_exists || b_exists) return false;
  const auto canonical = [](const std::string& path, std::filesystem::path& out) {
    std::error_code error;
    const std::filesystem::path absolute = std::filesystem::absolute(path, error);
    if (error) return false;
    out = std::filesystem::weakly_canonical(absolute, error);
    return !error;
  };
  std::filesystem::path canonical_a;
  std::filesystem::path canonical_b;
  if (!canonical(a, canonical_a) || !canonical(b, canonical_b)) return a == b;
  return canonical_a == canonical_b;
}

}  // namespace ecco
