#include "ecco/atomic_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ecco/error.hpp"

namespace ecco {

AtomicFile::AtomicFile(std::string path, std::string flag)
    : path_(std::move(path)), partial_(path_ + ".partial"), flag_(std::move(flag)) {
  std::error_code error;
  const auto status = std::filesystem::status(path_, error);
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    throw ConfigError(flag_ + " " + path_ + ": exists and is not a regular file (a directory or a device?)");
  }
  file_ = std::fopen(partial_.c_str(), "w");
  if (file_ == nullptr) {
    throw ConfigError(flag_ + " " + path_ + ": cannot create " + partial_ + " (" + std::strerror(errno) + ")");
  }
}

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(partial_.c_str());
  }
}

void AtomicFile::commit() {
  const bool write_failed = std::ferror(file_) != 0;
  const bool close_failed = std::fclose(file_) != 0;
  file_ = nullptr;
  if (write_failed || close_failed) {
    std::remove(partial_.c_str());
    throw Error(flag_ + " " + path_ + ": writing failed (disk full?)");
  }
  if (std::rename(partial_.c_str(), path_.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(partial_.c_str());
    throw Error(flag_ + " " + path_ + ": cannot rename " + partial_ + " (" + reason + ")");
  }
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {};
  struct stat sb {};
  const bool a_exists = ::stat(a.c_str(), &sa) == 0;
  const bool b_exists = ::stat(b.c_str(), &sb) == 0;
  if (a_exists && b_exists) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
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
