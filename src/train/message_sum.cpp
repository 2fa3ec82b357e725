// MessageSum: --aggregation allreduce (message_sum.hpp).
#include "train/message_sum.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "ecco/error.hpp"
#include "ecco/trainer.hpp"

namespace ecco::detail {

MessageSum::MessageSum(std::uint32_t dim, ValueFormat wire, const SharedFactor* factor, std::size_t local_clients)
    : dim_(dim),
      fp32_(wire == ValueFormat::fp32),
      direct_(fp32_ && local_clients == 1),
      value_bytes_(value_format_bytes(wire)),
      factor_(factor) {
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

void MessageSum::start_shape(Layout layout, std::size_t count, std::uint64_t seed) {
  layout_ = static_cast<std::uint64_t>(layout);
  count_ = count;
  seed_ = seed;
  if (direct_) {
    sum_fp32_.resize(count_ + 1);
  } else {
    sum_.assign(count_ + 1, 0.0);
  }
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
    start_shape(m.layout, count, seed);
  } else if (!summable || layout_ != static_cast<std::uint64_t>(m.layout) || count_ != count || seed_ != seed) {
    bad_ = true;
    bad_client_ = client;
    return;
  }
  const double* v = m.values.data() + first;
  if (direct_) {
    for (std::size_t k = 0; k < count_; ++k) sum_fp32_[k] = static_cast<float>(0.0 + weight * v[k]);
  } else {
    for (std::size_t k = 0; k < count_; ++k) sum_[k] += weight * v[k];
  }
  ++local_senders_;
}

template <bool kFp32, bool kDirect>
bool MessageSum::accumulate_dense(const double* v, double weight) {
  // The wire value of v[k] is double(float(v[k])) (fp32) or v[k] (fp64), as round_to_wire
  // makes it; `finite` stays true unless one is not finite or overflows the format.
  bool finite = true;
  float* direct = sum_fp32_.data();
  double* sum = sum_.data();
  for (std::size_t k = 0; k < count_; ++k) {
    double wire = v[k];
    if constexpr (kFp32) {
      const auto f = static_cast<float>(v[k]);
      finite &= std::isfinite(f);
      wire = static_cast<double>(f);
    } else {
      finite &= std::isfinite(wire);
    }
    if constexpr (kDirect) {
      direct[k] = static_cast<float>(0.0 + weight * wire);
    } else {
      sum[k] += weight * wire;
    }
  }
  return finite;
}

void MessageSum::add_dense(std::size_t client, const Eigen::VectorXd& v, double weight) {
  if (bad_) return;
  if (static_cast<std::size_t>(v.size()) != dim_) throw std::invalid_argument("MessageSum::add_dense: wrong size");
  if (layout_ == 0) {
    start_shape(Layout::dense, dim_, 0);
  } else if (layout_ != static_cast<std::uint64_t>(Layout::dense)) {
    bad_ = true;
    bad_client_ = client;
    return;
  }
  const bool finite = direct_  ? accumulate_dense<true, true>(v.data(), weight)
                      : fp32_ ? accumulate_dense<true, false>(v.data(), weight)
                              : accumulate_dense<false, false>(v.data(), weight);
  if (!finite) {
    // round_to_wire names the first bad value and its coordinate.
    Message m;
    m.set_dense(v);
    round_to_wire(m, fp32_ ? ValueFormat::fp32 : ValueFormat::fp64);
    throw std::logic_error("MessageSum::add_dense: a value failed the wire check that round_to_wire passed");
  }
  ++local_senders_;
}

bool MessageSum::reduce_in_place(const Transport& transport) {
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
  const bool sent_here = layout_ != 0;
  layout_ = shape_[0];
  count_ = static_cast<std::size_t>(shape_[2]);
  seed_ = shape_[4];
  // count_ values, then the number of senders (exact in fp32 below 2^24 clients).
  if (direct_) {
    if (!sent_here) sum_fp32_.assign(count_ + 1, 0.0F);  // this process adds zeros
    sum_fp32_[count_] = static_cast<float>(local_senders_);
    transport.allreduce_sum(std::span<float>(sum_fp32_.data(), count_ + 1));
    senders_ = static_cast<std::uint64_t>(sum_fp32_[count_]);
    return true;
  }
  if (!sent_here) sum_.assign(count_ + 1, 0.0);  // this process adds zeros
  sum_[count_] = static_cast<double>(local_senders_);
  if (fp32_) {
    sum_fp32_.resize(count_ + 1);
    for (std::size_t k = 0; k <= count_; ++k) sum_fp32_[k] = static_cast<float>(sum_[k]);
    transport.allreduce_sum(std::span<float>(sum_fp32_.data(), count_ + 1));
    senders_ = static_cast<std::uint64_t>(sum_fp32_[count_]);
  } else {
    transport.allreduce_sum(std::span<double>(sum_.data(), count_ + 1));
    senders_ = static_cast<std::uint64_t>(sum_[count_]);
  }
  return true;
}

void MessageSum::materialise(Message& out) const {
  const auto layout = static_cast<Layout>(layout_);
  // The total as doubles: the fp32 sums widened (exact), or the fp64 sums.
  const auto total = [&](std::size_t k) { return fp32_ ? static_cast<double>(sum_fp32_[k]) : sum_[k]; };
  if (layout == Layout::dense) {
    out.set_dense(Eigen::VectorXd(0));  // the dense layout with no value yet (keeps the buffer)
    out.dim = dim_;
    out.values.resize(count_);
    for (std::size_t k = 0; k < count_; ++k) out.values[k] = total(k);
  } else if (layout == Layout::shared_lowrank) {
    // Every process has the factor (same version: checked in reduce_in_place), including those
    // whose clients sent nothing.
    if (factor_ == nullptr || count_ + factor_p_size() != shared_values() || seed_ != factor_->version()) {
      throw std::logic_error("MessageSum: a shared_lowrank sum without the matching shared factor");
    }
    out.set_shared_lowrank(dim_, factor_->rows(), factor_->rank(), seed_);
    const auto p = factor_->p();
    std::copy(p.data(), p.data() + p.size(), out.values.begin());
    for (std::size_t k = 0; k < count_; ++k) out.values[factor_p_size() + k] = total(k);
  } else {
    out.clear_sparse(dim_);
    out.seeded = true;
    out.seed = seed_;
    sample_indices(seed_, dim_, static_cast<std::uint32_t>(count_), out.indices);
    out.values.resize(count_);
    for (std::size_t k = 0; k < count_; ++k) out.values[k] = total(k);
  }
}

bool MessageSum::reduce(const Transport& transport, Message& out) {
  if (!reduce_in_place(transport)) return false;
  materialise(out);
  return true;
}

}  // namespace ecco::detail
