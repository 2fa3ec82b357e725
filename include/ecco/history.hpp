#pragma once
// The per-round CSV of a run:
//   round,grad_norm_sq,loss,bits_up,bits_down,seconds
// Doubles are written with 17 significant digits, so equal files mean equal bits.
#include <cstdio>
#include <string>

#include "ecco/trainer.hpp"

namespace ecco {

// Writes to "<path>.partial" while the run goes on (flushed after every row) and renames
// it to <path> on commit(); a run that fails leaves no file at <path> and removes the
// partial one. Throws ConfigError if the file cannot be created.
class CsvHistoryWriter {
 public:
  explicit CsvHistoryWriter(std::string path);
  ~CsvHistoryWriter();
  CsvHistoryWriter(const CsvHistoryWriter&) = delete;
  CsvHistoryWriter& operator=(const CsvHistoryWriter&) = delete;

  void write(const MetricsRow& row);
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string partial_;
  std::FILE* file_ = nullptr;
};

// The CSV line of a row, without the trailing newline.
std::string csv_line(const MetricsRow& row);
inline constexpr const char* kCsvHeader = "round,grad_norm_sq,loss,bits_up,bits_down,seconds";

}  // namespace ecco
