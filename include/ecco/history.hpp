#pragma once
// The per-round CSV of a run:
//   round,grad_norm_sq,loss,bits_up,bits_down,seconds,bits_up_header,bits_up_index,bits_up_value,
//   train_accuracy (empty for problems without one)
// Doubles are written with 17 significant digits, so equal files mean equal bits.
#include <string>

#include "ecco/atomic_file.hpp"
#include "ecco/trainer.hpp"

namespace ecco {

// Rows are flushed as they come (to "<path>.partial", see AtomicFile); commit() publishes.
class CsvHistoryWriter {
 public:
  explicit CsvHistoryWriter(std::string path);
  void write(const MetricsRow& row);
  void commit() { file_.commit(); }
  const std::string& path() const { return file_.path(); }
  const std::string& partial_path() const { return file_.partial_path(); }

 private:
  AtomicFile file_;
};

// The CSV line of a row, without the trailing newline.
std::string csv_line(const MetricsRow& row);
inline constexpr const char* kCsvHeader =
    "round,grad_norm_sq,loss,bits_up,bits_down,seconds,bits_up_header,bits_up_index,bits_up_value,train_accuracy";

}  // namespace ecco
