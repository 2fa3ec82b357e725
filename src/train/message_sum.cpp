// MessageSum: --aggregation allreduce (message_sum.hpp).
#include "train/message_sum.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "ecco/error.hpp"
#include "ecco/trainer.hpp"

namespace ecco::detail {

MessageSum::MessageSum(std::uint32_t dim, ValueFormat wire, const SharedFactor* factor)
    : dim_(dim), fp32_(wire == ValueFormat::fp32), value_bytes_(value_format_bytes(wire)), factor_(factor) {
  if (wire != ValueFormat::fp32 && wire != ValueFormat::fp64) {
    throw ConfigError("--aggregation allreduce sums the values in fp32 or fp64; --wire " +
                      std::string(to_string(wire)) + " cannot be summed by MPI (use --wire fp32 or fp64)");
  }
}

void MessageSum::begin(std::int64_t round) {
  round_ = round;
  layout_ = 0;
  count_ = 0;
  seed_ = 0;
  bad_ = false;
  local_senders_ = 0;
  senders_ = 0;
}

void MessageSum::add(std::size_t client, const Message& m, double weight) {
  if (bad_) return;
  const bool dense = m.layout == Layout::dense && m.values.size() == dim_;
  const bool seeded = m.layout == Layout::sparse && m.seeded;
  const bool shared = m.layout == Layout::shared_lowrank && factor_ != nullptr && m.dim == dim_ &&
                      m.rows == factor_->rows() && m.rank == factor_->rank() &&
                      m.factor_version == factor_->version() && m.values.size() == shared_values();
  const bool summable = m.code == ValueCode::raw && m.tag == 0 && (dense || seeded || shared);
  // Shared_lowrank: the values after P (A and S; P is the shared factor's own), and the
  // factor version in place of a seed.
  const std::size_t first = shared ? factor_p_size() : 0;
  const std::size_t count = m.values.size() - first;
  const std::uint64_t seed = seeded ? m.seed : shared ? m.factor_version : 0;
  if (summable && layout_ == 0) {
    layout_ = static_cast<std::uint64_t>(m.layout);
    count_ = count;
    seed_ = seed;
    sum_.assign(count_ + 1, 0.0);
  } else if (!summable || layout_ != static_cast<std::uint64_t>(m.layout) || count_ != count || seed_ != seed) {
    bad_ = true;
    bad_client_ = client;
    return;
  }
  for (std::size_t k = 0; k < count_; ++k) sum_[k] += weight * m.values[first + k];
  ++local_senders_;
}

bool MessageSum::reduce(const Transport& transport, Message& out) {
  // (v, ~v) pairs reduced with max give max v and ~(min v): equal iff every process that
  // sent had the same v. A process that sent nothing contributes (0, 0), neutral for both.
  const std::uint64_t values[3] = {layout_, count_, seed_};
  for (int k = 0; k < 3; ++k) {
    shape_[2 * k] = layout_ == 0 ? 0 : values[k];
    shape_[2 * k + 1] = layout_ == 0 ? 0 : ~values[k];
  }
  shape_[6] = bad_ ? 1 : 0;
  shape_[7] = bad_ ? ~static_cast<std::uint64_t>(bad_client_) : 0;
  transport.allreduce_max(shape_);
  const bool differ = shape_[1] != ~shape_[0] || shape_[3] != ~shape_[2] || shape_[5] != ~shape_[4];
  if (shape_[6] != 0 || (shape_[0] != 0 && differ)) {
    const std::string where = shape_[6] != 0 ? " (first at client " + std::to_string(~shape_[7]) + ")" : "";
    throw AgreedRunError("--aggregation allreduce, round " + std::to_string(round_) +
                             ": the clients' messages cannot be summed without their indices" + where +
                             "; allreduce needs raw dense values (identity), randk:...,coords=common or "
                             "lowrank:...,factor=shared, with every client keeping the same coordinates or factor, "
                             "i.e. a method whose clients all compress every round",
                         transport.rank() == 0);
  }
  if (shape_[0] == 0) return false;  // no client sent
  const auto layout = static_cast<Layout>(shape_[0]);
  count_ = static_cast<std::size_t>(shape_[2]);
  seed_ = shape_[4];
  if (layout_ == 0) sum_.assign(count_ + 1, 0.0);  // this process adds zeros
  // count_ values, then the number of senders (exact in fp32 below 2^24 clients).
  sum_[count_] = static_cast<double>(local_senders_);
  if (fp32_) {
    sum_fp32_.resize(sum_.size());
    for (std::size_t k = 0; k < sum_.size(); ++k) sum_fp32_[k] = static_cast<float>(sum_[k]);
    transport.allreduce_sum(std::span<float>(sum_fp32_));
    for (std::size_t k = 0; k < sum_.size(); ++k) sum_[k] = sum_fp32_[k];
  } else {
    transport.allreduce_sum(std::span<double>(sum_));
  }
  senders_ = static_cast<std::uint64_t>(sum_[count_]);
  if (layout == Layout::dense) {
    out.set_dense(Eigen::Map<const Eigen::VectorXd>(sum_.data(), static_cast<Eigen::Index>(count_)));
  } else if (layout == Layout::shared_lowrank) {
    // Every process has the factor (same version: checked above), including those whose
    // clients sent nothing.
    if (factor_ == nullptr || count_ + factor_p_size() != shared_values() || seed_ != factor_->version()) {
      throw std::logic_error("MessageSum: a shared_lowrank sum without the matching shared factor");
    }
    out.set_shared_lowrank(dim_, factor_->rows(), factor_->rank(), seed_);
    const auto p = factor_->p();
    std::copy(p.data(), p.data() + p.size(), out.values.begin());
    std::copy(sum_.begin(), sum_.begin() + static_cast<std::ptrdiff_t>(count_),
              out.values.begin() + static_cast<std::ptrdiff_t>(factor_p_size()));
  } else {
    out.clear_sparse(dim_);
    out.seeded = true;
    out.seed = seed_;
    sample_indices(seed_, dim_, static_cast<std::uint32_t>(count_), out.indices);
    out.values.assign(sum_.begin(), sum_.begin() + static_cast<std::ptrdiff_t>(count_));
  }
  return true;
}

}  // namespace ecco::detail
