#pragma once
// StateIO: how a stateful object (a client's method, estimator, random stream, compressor
// workspace; the server method, the model replica) lists the state a checkpoint must hold.
// Each object has one function, `void state(StateIO& io)`, that names every member that
// carries over from one round to the next; the same function saves (StateWriter) and loads
// (StateReader), so the two cannot drift apart. Scratch buffers that every round overwrites
// before reading are left out.
//
// A record is a sequence of named, typed fields. The reader checks each field's name, type
// and, for vectors whose size the object already knows (non-empty on load), the size, and
// throws CheckpointError naming the field on any mismatch or truncation: it never reads out
// of bounds and never leaves an object half-loaded without saying so (the caller discards
// the run). Byte order is the machine's (checkpoints carry a format tag that says so).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "ecco/error.hpp"

namespace ecco {

// std::size_t fields are written as std::uint64_t (the same type on the supported LP64 targets).
static_assert(std::is_same_v<std::size_t, std::uint64_t>);

// A checkpoint file or record that cannot be used: truncated, corrupt (checksum), from
// another format version, or not matching the run (config, data, layout). The message names
// the file (or field) and what differs.
class CheckpointError : public DataError {
 public:
  using DataError::DataError;
};

class StateIO {
 public:
  virtual ~StateIO() = default;
  // True while loading: the fields are overwritten from the record.
  virtual bool loading() const = 0;

  virtual void field(std::string_view name, Eigen::VectorXd& v) = 0;
  virtual void field(std::string_view name, Eigen::MatrixXd& m) = 0;
  virtual void field(std::string_view name, std::vector<double>& v) = 0;
  virtual void field(std::string_view name, std::vector<float>& v) = 0;
  virtual void field(std::string_view name, std::vector<std::uint32_t>& v) = 0;
  virtual void field(std::string_view name, std::vector<std::uint64_t>& v) = 0;
  virtual void field(std::string_view name, std::vector<char>& v) = 0;
  virtual void field(std::string_view name, std::string& s) = 0;
  virtual void field(std::string_view name, double& x) = 0;
  virtual void field(std::string_view name, std::uint64_t& x) = 0;
  virtual void field(std::string_view name, std::int64_t& x) = 0;
  void field(std::string_view name, bool& b);
  // A nested object: its fields are prefixed with "name/" in error messages.
  void begin(std::string_view name);
  void end();

 protected:
  std::string path(std::string_view name) const;

 private:
  std::vector<std::string> scope_;
};

// Serialises fields to bytes: [u8 type][u16 name length][name][u64 count][count elements].
class StateWriter final : public StateIO {
 public:
  bool loading() const override { return false; }
  void field(std::string_view name, Eigen::VectorXd& v) override;
  void field(std::string_view name, Eigen::MatrixXd& m) override;
  void field(std::string_view name, std::vector<double>& v) override;
  void field(std::string_view name, std::vector<float>& v) override;
  void field(std::string_view name, std::vector<std::uint32_t>& v) override;
  void field(std::string_view name, std::vector<std::uint64_t>& v) override;
  void field(std::string_view name, std::vector<char>& v) override;
  void field(std::string_view name, std::string& s) override;
  void field(std::string_view name, double& x) override;
  void field(std::string_view name, std::uint64_t& x) override;
  void field(std::string_view name, std::int64_t& x) override;
  using StateIO::field;

  const std::vector<std::byte>& bytes() const { return bytes_; }
  std::vector<std::byte> take() { return std::move(bytes_); }

 private:
  void put(std::uint8_t type, std::string_view name, std::uint64_t count, const void* data, std::size_t bytes);
  std::vector<std::byte> bytes_;
};

// Reads what StateWriter wrote, field by field, from `bytes` (which must outlive it).
// `where` (a file name, say) starts every error message.
class StateReader final : public StateIO {
 public:
  StateReader(std::span<const std::byte> bytes, std::string where);
  bool loading() const override { return true; }
  void field(std::string_view name, Eigen::VectorXd& v) override;
  void field(std::string_view name, Eigen::MatrixXd& m) override;
  void field(std::string_view name, std::vector<double>& v) override;
  void field(std::string_view name, std::vector<float>& v) override;
  void field(std::string_view name, std::vector<std::uint32_t>& v) override;
  void field(std::string_view name, std::vector<std::uint64_t>& v) override;
  void field(std::string_view name, std::vector<char>& v) override;
  void field(std::string_view name, std::string& s) override;
  void field(std::string_view name, double& x) override;
  void field(std::string_view name, std::uint64_t& x) override;
  void field(std::string_view name, std::int64_t& x) override;
  using StateIO::field;

  // CheckpointError unless every byte was read.
  void expect_end() const;

 private:
  // Checks the next field's header and returns its element count; `known` is the size the
  // object expects (0: any).
  std::uint64_t take_header(std::uint8_t type, std::string_view name, std::size_t element_bytes, std::uint64_t known);
  void take(void* out, std::size_t bytes);
  [[noreturn]] void fail(std::string_view name, const std::string& what) const;

  std::span<const std::byte> bytes_;
  std::size_t at_ = 0;
  std::string where_;
};

}  // namespace ecco
