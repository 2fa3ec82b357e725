#pragma once
// The per-round CSV of a run:
//   round,grad_norm_sq,loss,bits_up,bits_down,seconds,bits_up_header,bits_up_index,bits_up_value,
//   train_accuracy,test_loss,test_accuracy
// A field is empty where the row has no value: grad_norm_sq and train_accuracy with
// --train-metrics batch (then loss is the mean minibatch loss since the previous row),
// accuracies for problems without one, test columns on rows without an evaluation.
// Doubles are written with 17 significant digits, so equal files mean equal bits.
#include <string>

#include "ecco/atomic_file.hpp"
#include "ecco/trainer.hpp"

namespace ecco {

// Rows are flushed as they come (to a temporary "<path>.partial.<pid>.<random>", see
// AtomicFile); commit() publishes.
class CsvHistoryWriter {
 public:
  explicit CsvHistoryWriter(std::string path);
  void write(const MetricsRow& row);
  void commit() { file_.commit(); }
  const std::string& path() const { return file_.path(); }
  const std::string& partial_path() const { return file_.partial_path(); }
  const std::string& lock_path() const { return file_.lock_path(); }

 private:
  AtomicFile file_;
};

// The CSV line of a row, without the trailing newline.
std::string csv_line(const MetricsRow& row);
inline constexpr const char* kCsvHeader =
    "round,grad_norm_sq,loss,bits_up,bits_down,seconds,bits_up_header,bits_up_index,bits_up_value,train_accuracy,test_loss,"
    "test_accuracy";

}  // namespace ecco
