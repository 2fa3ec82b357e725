#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"

namespace ecco {
namespace {

class LineError {
 public:
  LineError(const std::string& path, std::size_t line) : prefix_(path + ":" + std::to_string(line) + ": ") {}
  [[noreturn]] void fail(const std::string& what) const { throw DataError(prefix_ + what); }

 private:
  std::string prefix_;
};

// A token as error messages show it: at most 40 characters, non-printable bytes escaped.
std::string shown(std::string_view token) {
  std::string out;
  for (std::size_t i = 0; i < token.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(token[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02X", c);
      out += buffer;
    }
  }
  if (token.size() > 40) out += "...";
  return out;
}

std::string_view next_token(std::string_view& rest) {
  const auto begin = rest.find_first_not_of(" \t");
  if (begin == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(begin);
  const auto end = rest.find_first_of(" \t");
  const std::string_view token = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  return token;
}

double parse_number(std::string_view text, const LineError& err, const char* what) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') {
    digits.remove_prefix(1);
    if (!digits.empty() && digits.front() == '-') err.fail(std::string(what) + " '" + shown(text) + "' has two signs");
  }
  double value = 0.0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec == std::errc::invalid_argument || ptr != digits.data() + digits.size()) {
    err.fail(std::string(what) + " '" + shown(text) + "' is not a number");
  }
  if (ec == std::errc::result_out_of_range || !std::isfinite(value)) {
    err.fail(std::string(what) + " '" + shown(text) + "' is not a finite number");
  }
  return value;
}

}  // namespace

Dataset read_libsvm(const std::string& path, std::optional<std::size_t> dim) {
  std::error_code fs_error;
  const auto status = std::filesystem::status(path, fs_error);
  if (std::filesystem::is_directory(status)) throw DataError(path + ": is a directory, expected a LIBSVM file");
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    throw DataError(path + ": is not a regular file (a pipe or a device?); expected a LIBSVM file");
  }
  std::ifstream in(path);
  if (!in) throw DataError(path + ": cannot open (" + std::strerror(errno) + ")");

  std::vector<std::int64_t> outer{0};
  std::vector<std::int64_t> inner;
  std::vector<double> values;
  std::vector<double> labels;
  std::size_t max_index = 0;

  std::string line;
  std::size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const LineError err(path, line_number);
    std::string_view rest(line);
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
    while (!rest.empty() && (rest.back() == '\r' || rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);

    const std::string_view label_token = next_token(rest);
    if (label_token.empty()) continue;  // blank or comment-only line
    if (label_token.find(':') != std::string_view::npos) {
      err.fail("label missing: line starts with feature '" + shown(label_token) +
               "' (expected: label idx:value ...)");
    }
    labels.push_back(parse_number(label_token, err, "label"));

    std::int64_t previous = 0;
    for (std::string_view token = next_token(rest); !token.empty(); token = next_token(rest)) {
      const auto colon = token.find(':');
      if (colon == std::string_view::npos || colon == 0 || colon + 1 == token.size()) {
        err.fail("bad token '" + shown(token) + "' (expected idx:value with a 1-based integer idx)");
      }
      const std::string_view index_text = token.substr(0, colon);
      std::int64_t index = 0;
      const auto [ptr, ec] = std::from_chars(index_text.data(), index_text.data() + index_text.size(), index);
      if (ec != std::errc() || ptr != index_text.data() + index_text.size()) {
        err.fail("feature index '" + shown(index_text) + "' is not an integer");
      }
      if (index <= 0) err.fail("feature index " + std::to_string(index) + " must be >= 1 (indices are 1-based)");
      if (index <= previous) {
        err.fail("feature index " + std::to_string(index) + (index == previous ? " repeated" : " out of order") +
                 " after " + std::to_string(previous) + " (indices must be strictly increasing)");
      }
      if (dim && static_cast<std::size_t>(index) > *dim) {
        err.fail("feature index " + std::to_string(index) + " exceeds --dim " + std::to_string(*dim));
      }
      if (index > std::int64_t{4294967295}) err.fail("feature index " + std::to_string(index) + " exceeds 2^32 - 1");
      const double value = parse_number(token.substr(colon + 1), err, "feature value");
      previous = index;
      max_index = std::max(max_index, static_cast<std::size_t>(index));
      inner.push_back(index - 1);
      values.push_back(value);
    }
    outer.push_back(static_cast<std::int64_t>(inner.size()));
  }
  if (in.bad()) throw DataError(path + ": read error (" + std::strerror(errno) + ")");
  if (labels.empty()) throw DataError(path + ": no data rows (empty file)");

  const std::size_t d = dim ? *dim : max_index;
  if (d == 0) throw DataError(path + ": no features in any row; give --dim or check the file");

  // Binary labels -> -1 / +1, smallest to -1. Other label sets are kept as read; problems
  // that need binary labels reject them.
  const std::set<double> distinct(labels.begin(), labels.end());
  if (distinct.size() == 2) {
    const double low = *distinct.begin();
    for (double& y : labels) y = (y == low) ? -1.0 : 1.0;
  }

  Dataset data;
  data.source = path;
  const auto rows = static_cast<Eigen::Index>(labels.size());
  // CSR straight into the matrix. Not by assigning an Eigen::Map of the arrays: Eigen's
  // generic sparse copy reserves 2 max(rows, d) entries first, 64 GB for a feature index
  // near 2^32 in a two-line file.
  data.features.resize(rows, static_cast<Eigen::Index>(d));
  data.features.resizeNonZeros(static_cast<Eigen::Index>(inner.size()));
  std::copy(outer.begin(), outer.end(), data.features.outerIndexPtr());
  std::copy(inner.begin(), inner.end(), data.features.innerIndexPtr());
  std::copy(values.begin(), values.end(), data.features.valuePtr());
  data.labels = Eigen::Map<const Eigen::VectorXd>(labels.data(), rows);
  return data;
}

}  // namespace ecco
