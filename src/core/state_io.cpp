#include "ecco/state_io.hpp"

#include <cstring>
#include <limits>

namespace ecco {
namespace {

// Field types on disk.
enum : std::uint8_t {
  kF64Vector = 1,
  kF64Matrix = 2,
  kF32Vector = 3,
  kU32Vector = 4,
  kU64Vector = 5,
  kCharVector = 6,
  kString = 7,
  kF64 = 8,
  kU64 = 9,
  kI64 = 10,
};

}  // namespace

void StateIO::field(std::string_view name, bool& b) {
  std::uint64_t v = b ? 1 : 0;
  field(name, v);
  if (loading()) {
    if (v > 1) throw CheckpointError(path(name) + ": a flag holds " + std::to_string(v) + " (allowed: 0 or 1)");
    b = v == 1;
  }
}

void StateIO::begin(std::string_view name) { scope_.emplace_back(name); }
void StateIO::end() {
  if (!scope_.empty()) scope_.pop_back();
}

std::string StateIO::path(std::string_view name) const {
  std::string out;
  for (const std::string& s : scope_) out += s + "/";
  out += name;
  return out;
}

// ---- writer --------------------------------------------------------------------------

void StateWriter::put(std::uint8_t type, std::string_view name, std::uint64_t count, const void* data,
                      std::size_t bytes) {
  const auto name_length = static_cast<std::uint16_t>(name.size());
  const std::size_t at = bytes_.size();
  bytes_.resize(at + 1 + sizeof name_length + name.size() + sizeof count + bytes);
  std::byte* out = bytes_.data() + at;
  std::memcpy(out, &type, 1);
  std::memcpy(out + 1, &name_length, sizeof name_length);
  if (!name.empty()) std::memcpy(out + 1 + sizeof name_length, name.data(), name.size());
  std::memcpy(out + 1 + sizeof name_length + name.size(), &count, sizeof count);
  if (bytes > 0) std::memcpy(out + 1 + sizeof name_length + name.size() + sizeof count, data, bytes);
}

void StateWriter::field(std::string_view name, Eigen::VectorXd& v) {
  put(kF64Vector, name, static_cast<std::uint64_t>(v.size()), v.data(), sizeof(double) * static_cast<std::size_t>(v.size()));
}
void StateWriter::field(std::string_view name, Eigen::MatrixXd& m) {
  // rows, then the column-major values: count = rows * cols, preceded by the row count.
  const auto rows = static_cast<std::uint64_t>(m.rows());
  put(kF64Matrix, name, rows, nullptr, 0);
  put(kF64Vector, name, static_cast<std::uint64_t>(m.size()), m.data(), sizeof(double) * static_cast<std::size_t>(m.size()));
}
void StateWriter::field(std::string_view name, std::vector<double>& v) {
  put(kF64Vector, name, v.size(), v.data(), sizeof(double) * v.size());
}
void StateWriter::field(std::string_view name, std::vector<float>& v) {
  put(kF32Vector, name, v.size(), v.data(), sizeof(float) * v.size());
}
void StateWriter::field(std::string_view name, std::vector<std::uint32_t>& v) {
  put(kU32Vector, name, v.size(), v.data(), sizeof(std::uint32_t) * v.size());
}
void StateWriter::field(std::string_view name, std::vector<std::uint64_t>& v) {
  put(kU64Vector, name, v.size(), v.data(), sizeof(std::uint64_t) * v.size());
}
void StateWriter::field(std::string_view name, std::vector<char>& v) { put(kCharVector, name, v.size(), v.data(), v.size()); }
void StateWriter::field(std::string_view name, std::string& s) { put(kString, name, s.size(), s.data(), s.size()); }
void StateWriter::field(std::string_view name, double& x) { put(kF64, name, 1, &x, sizeof x); }
void StateWriter::field(std::string_view name, std::uint64_t& x) { put(kU64, name, 1, &x, sizeof x); }
void StateWriter::field(std::string_view name, std::int64_t& x) { put(kI64, name, 1, &x, sizeof x); }

// ---- reader --------------------------------------------------------------------------

StateReader::StateReader(std::span<const std::byte> bytes, std::string where) : bytes_(bytes), where_(std::move(where)) {}

void StateReader::fail(std::string_view name, const std::string& what) const {
  throw CheckpointError(where_ + ": field '" + path(name) + "': " + what);
}

void StateReader::take(void* out, std::size_t bytes) {
  if (bytes > bytes_.size() - at_) fail("", "truncated");
  if (bytes > 0) std::memcpy(out, bytes_.data() + at_, bytes);
  at_ += bytes;
}

std::uint64_t StateReader::take_header(std::uint8_t type, std::string_view name, std::size_t element_bytes,
                                       std::uint64_t known) {
  std::uint8_t stored_type = 0;
  std::uint16_t name_length = 0;
  if (1 + sizeof name_length > bytes_.size() - at_) fail(name, "the record ends before it (truncated)");
  take(&stored_type, 1);
  take(&name_length, sizeof name_length);
  if (name_length > bytes_.size() - at_) fail(name, "the record ends inside its name (truncated)");
  const std::string_view stored(reinterpret_cast<const char*>(bytes_.data() + at_), name_length);
  at_ += name_length;
  if (stored != name) fail(name, "found '" + std::string(stored) + "' in its place (another layout of the state)");
  if (stored_type != type) {
    fail(name, "stored with type " + std::to_string(stored_type) + ", expected " + std::to_string(type));
  }
  std::uint64_t count = 0;
  if (sizeof count > bytes_.size() - at_) fail(name, "truncated");
  take(&count, sizeof count);
  if (element_bytes > 0 && count > (bytes_.size() - at_) / element_bytes) {
    fail(name, "holds " + std::to_string(count) + " elements, more than the record's remaining bytes (truncated)");
  }
  if (known != 0 && count != known) {
    fail(name, "holds " + std::to_string(count) + " elements, the run expects " + std::to_string(known));
  }
  return count;
}

void StateReader::field(std::string_view name, Eigen::VectorXd& v) {
  const auto n = take_header(kF64Vector, name, sizeof(double), static_cast<std::uint64_t>(v.size()));
  v.resize(static_cast<Eigen::Index>(n));
  take(v.data(), sizeof(double) * n);
}
void StateReader::field(std::string_view name, Eigen::MatrixXd& m) {
  const auto rows = take_header(kF64Matrix, name, 0, 0);
  const auto n = take_header(kF64Vector, name, sizeof(double), 0);
  if ((rows == 0) != (n == 0) || (rows != 0 && n % rows != 0)) {
    fail(name, std::to_string(n) + " values do not fill " + std::to_string(rows) + " rows");
  }
  if (m.size() != 0 && (static_cast<std::uint64_t>(m.rows()) != rows || static_cast<std::uint64_t>(m.size()) != n)) {
    fail(name, "holds a " + std::to_string(rows) + "-row matrix of " + std::to_string(n) + " values, the run expects " +
                   std::to_string(m.rows()) + " x " + std::to_string(m.cols()));
  }
  m.resize(static_cast<Eigen::Index>(rows), rows == 0 ? 0 : static_cast<Eigen::Index>(n / rows));
  take(m.data(), sizeof(double) * n);
}
void StateReader::field(std::string_view name, std::vector<double>& v) {
  v.resize(take_header(kF64Vector, name, sizeof(double), v.size()));
  take(v.data(), sizeof(double) * v.size());
}
void StateReader::field(std::string_view name, std::vector<float>& v) {
  v.resize(take_header(kF32Vector, name, sizeof(float), v.size()));
  take(v.data(), sizeof(float) * v.size());
}
void StateReader::field(std::string_view name, std::vector<std::uint32_t>& v) {
  v.resize(take_header(kU32Vector, name, sizeof(std::uint32_t), v.size()));
  take(v.data(), sizeof(std::uint32_t) * v.size());
}
void StateReader::field(std::string_view name, std::vector<std::uint64_t>& v) {
  v.resize(take_header(kU64Vector, name, sizeof(std::uint64_t), v.size()));
  take(v.data(), sizeof(std::uint64_t) * v.size());
}
void StateReader::field(std::string_view name, std::vector<char>& v) {
  v.resize(take_header(kCharVector, name, 1, v.size()));
  take(v.data(), v.size());
}
void StateReader::field(std::string_view name, std::string& s) {
  s.resize(take_header(kString, name, 1, 0));
  take(s.data(), s.size());
}
void StateReader::field(std::string_view name, double& x) {
  take_header(kF64, name, sizeof x, 1);
  take(&x, sizeof x);
}
void StateReader::field(std::string_view name, std::uint64_t& x) {
  take_header(kU64, name, sizeof x, 1);
  take(&x, sizeof x);
}
void StateReader::field(std::string_view name, std::int64_t& x) {
  take_header(kI64, name, sizeof x, 1);
  take(&x, sizeof x);
}

void StateReader::expect_end() const {
  if (at_ != bytes_.size()) {
    throw CheckpointError(where_ + ": " + std::to_string(bytes_.size() - at_) +
                          " bytes after the last field (another layout of the state)");
  }
}

}  // namespace ecco
