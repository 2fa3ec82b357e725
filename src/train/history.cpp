#include "ecco/history.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace ecco {

std::string csv_line(const MetricsRow& row) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer,
                "%" PRId64 ",%.17g,%.17g,%" PRIu64 ",%" PRIu64 ",%.6f,%" PRIu64 ",%" PRIu64 ",%" PRIu64, row.round,
                row.grad_norm_sq, row.loss, row.bits_up, row.bits_down, row.seconds, row.bits_up_header,
                row.bits_up_index, row.bits_up_value);
  std::string line = buffer;
  line += ',';
  if (!std::isnan(row.train_accuracy)) {
    std::snprintf(buffer, sizeof buffer, "%.17g", row.train_accuracy);
    line += buffer;
  }
  return line;
}

CsvHistoryWriter::CsvHistoryWriter(std::string path) : file_(std::move(path), "--out") {
  std::fprintf(file_.stream(), "%s\n", kCsvHeader);
}

void CsvHistoryWriter::write(const MetricsRow& row) {
  std::fprintf(file_.stream(), "%s\n", csv_line(row).c_str());
  std::fflush(file_.stream());
}

}  // namespace ecco
