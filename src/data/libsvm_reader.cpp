#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
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

// Largest magnitude of a label or feature value: FLT_MAX (3.4e38), the range of the fp32 wire
// and of fp32 compute. It also keeps every constant finite: with d, N < 2^32 a row's
// ||a_j||^2 stays below 10^87 and sums of them below 10^97, where a value of 1e160 would make
// ||a_j||^2 overflow to inf and L silently wrong.
constexpr double kMaxMagnitude = 3.4028234663852886e38;

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
  if (std::fabs(value) > kMaxMagnitude) {
    err.fail(std::string(what) + " '" + shown(text) + "' is outside [-3.4e38, 3.4e38] (the fp32 range; larger values "
             "overflow the smoothness constants and the fp32 wire; rescale the data)");
  }
  return value;
}

// The lines of a text file, read in blocks of 1 MiB: memory stays at one block plus the
// longest line, which may hold at most kMaxLibsvmLineBytes. A longer line and a byte no text
// holds (NUL and the other control characters but tab and CR) are DataErrors naming the line,
// raised before more than one block past them is read (a 2 GB file of NUL bytes fails in
// its first block, not after 4 GB of line buffer).
class LineReader {
 public:
  explicit LineReader(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "rb")) {
    if (file_ == nullptr) throw DataError(path + ": cannot open (" + std::strerror(errno) + ")");
  }
  ~LineReader() { std::fclose(file_); }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its '\n' (valid until the next call); false at the end.
  bool next(std::string_view& line) {
    carry_.clear();
    while (true) {
      const char* begin = block_.data() + begin_;
      const char* end = block_.data() + end_;
      const auto* newline = static_cast<const char*>(std::memchr(begin, '\n', static_cast<std::size_t>(end - begin)));
      const char* stop = newline != nullptr ? newline : end;
      check_text(begin, stop);
      if (newline != nullptr) {
        begin_ += static_cast<std::size_t>(newline - begin) + 1;
        ++number_;
        if (carry_.empty()) {
          line = std::string_view(begin, static_cast<std::size_t>(newline - begin));
        } else {
          carry_.append(begin, newline);
          line = carry_;
        }
        return true;
      }
      carry_.append(begin, end);
      end_ = std::fread(block_.data(), 1, block_.size(), file_);
      begin_ = 0;
      if (end_ == 0) {
        if (std::ferror(file_) != 0) throw DataError(path_ + ": read error (" + std::strerror(errno) + ")");
        if (carry_.empty()) return false;
        ++number_;  // the last line, without a final '\n'
        line = carry_;
        return true;
      }
    }
  }

  std::size_t line_number() const { return number_; }

 private:
  // Bytes [begin, end) continue the line being read (after carry_).
  void check_text(const char* begin, const char* end) const {
    bool bad = false;
    for (const char* p = begin; p < end; ++p) {
      const auto c = static_cast<unsigned char>(*p);
      bad |= c < 0x20 && c != '\t' && c != '\r';
    }
    if (bad) {
      const char* p = begin;
      while (!(static_cast<unsigned char>(*p) < 0x20 && *p != '\t' && *p != '\r')) ++p;
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(*p)));
      throw DataError(path_ + ":" + std::to_string(number_ + 1) + ": not a text file: byte " + byte + " at column " +
                      std::to_string(carry_.size() + static_cast<std::size_t>(p - begin) + 1) +
                      " (a LIBSVM file is text: label idx:value ...; decompress a gzip file first)");
    }
    if (carry_.size() + static_cast<std::size_t>(end - begin) > kMaxLibsvmLineBytes) {
      throw DataError(path_ + ":" + std::to_string(number_ + 1) + ": line longer than " +
                      std::to_string(kMaxLibsvmLineBytes >> 20) +
                      " MiB, the longest line the reader takes (one row per line; is it a text file?)");
    }
  }

  std::string path_;
  std::FILE* file_;
  std::vector<char> block_ = std::vector<char>(std::size_t{1} << 20);
  std::size_t begin_ = 0;  // unread bytes of the block: [begin_, end_)
  std::size_t end_ = 0;
  std::string carry_;      // a line that crosses blocks
  std::size_t number_ = 0;
};

}  // namespace

Dataset read_libsvm(const std::string& path, std::optional<std::size_t> dim) {
  std::error_code fs_error;
  const auto status = std::filesystem::status(path, fs_error);
  if (std::filesystem::is_directory(status)) throw DataError(path + ": is a directory, expected a LIBSVM file");
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    throw DataError(path + ": is not a regular file (a pipe or a device?); expected a LIBSVM file");
  }
  LineReader in(path);

  std::vector<std::int64_t> outer{0};
  std::vector<std::int64_t> inner;
  std::vector<double> values;
  std::vector<double> labels;
  std::size_t max_index = 0;

  std::string_view line;
  while (in.next(line)) {
    const LineError err(path, in.line_number());
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
  data.files = {path};
  const auto rows = static_cast<Eigen::Index>(labels.size());
  assign_rows(data.features, rows, static_cast<Eigen::Index>(d), outer, inner, values);
  data.labels = Eigen::Map<const Eigen::VectorXd>(labels.data(), rows);
  return data;
}

}  // namespace ecco
