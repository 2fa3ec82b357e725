#include "ecco/history.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace ecco {

namespace {

// ",value" with 17 significant digits, or "," alone for NaN (no value).
void append_optional(std::string& line, double value) {
  line += ',';
  if (std::isnan(value)) return;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  line += buffer;
}

}  // namespace

std::string csv_line(const MetricsRow& row) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, "%" PRId64, row.round);
  std::string line = buffer;
  append_optional(line, row.grad_norm_sq);
  std::snprintf(buffer, sizeof buffer,
                ",%.17g,%" PRIu64 ",%" PRIu64 ",%.6f,%" PRIu64 ",%" PRIu64 ",%" PRIu64, row.loss, row.bits_up,
                row.bits_down, row.seconds, row.bits_up_header, row.bits_up_index, row.bits_up_value);
  line += buffer;
  append_optional(line, row.train_accuracy);
  append_optional(line, row.test_loss);
  append_optional(line, row.test_accuracy);
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
