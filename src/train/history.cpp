#include "ecco/history.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "ecco/error.hpp"

namespace ecco {

std::string csv_line(const MetricsRow& row) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, "%" PRId64 ",%.17g,%.17g,%" PRIu64 ",%" PRIu64 ",%.6f", row.round,
                row.grad_norm_sq, row.loss, row.bits_up, row.bits_down, row.seconds);
  return buffer;
}

CsvHistoryWriter::CsvHistoryWriter(std::string path) : path_(std::move(path)), partial_(path_ + ".partial") {
  file_ = std::fopen(partial_.c_str(), "w");
  if (file_ == nullptr) {
    throw ConfigError("--out " + path_ + ": cannot create " + partial_ + " (" + std::strerror(errno) + ")");
  }
  std::fprintf(file_, "%s\n", kCsvHeader);
}

CsvHistoryWriter::~CsvHistoryWriter() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(partial_.c_str());
  }
}

void CsvHistoryWriter::write(const MetricsRow& row) {
  std::fprintf(file_, "%s\n", csv_line(row).c_str());
  std::fflush(file_);
}

void CsvHistoryWriter::commit() {
  const bool write_failed = std::ferror(file_) != 0;
  const bool close_failed = std::fclose(file_) != 0;
  file_ = nullptr;
  if (write_failed || close_failed) {
    std::remove(partial_.c_str());
    throw Error("--out " + path_ + ": writing failed (disk full?)");
  }
  if (std::rename(partial_.c_str(), path_.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(partial_.c_str());
    throw Error("--out " + path_ + ": cannot rename " + partial_ + " (" + reason + ")");
  }
}

}  // namespace ecco
