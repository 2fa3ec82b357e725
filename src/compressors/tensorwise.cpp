// Per-tensor compression (--granularity tensor; make_tensorwise_compressor in compressor.hpp):
// x is cut along its TensorLayout and tensor k is compressed on its own into part k of one
// Layout::parts message.
//  * Which compressor a tensor gets is decided once, at construction:
//      - size < dense_below: identity (dense);
//      - inner lowrank:r=R: lowrank:r=R,rows=<tensor rows> (PowerSGD on the weight matrix
//        itself), one instance per tensor; a tensor with cols == 1 or min(rows, cols) <= R goes
//        dense instead, because its factors, min(R, rows, cols) (rows + cols) >=
//        min(rows, cols) max(rows, cols) = rows cols values, are no smaller than the tensor;
//      - any other inner spec: one instance applied to every tensor's segment (compressors
//        are stateless; their kept counts, gains and bits follow the segment's size).
//  * Class (worst case over x): ||C(x) - x||^2 = sum_k ||C_k(x_k) - x_k||^2 and E C(x) = x iff
//    E C_k(x_k) = x_k for all k. So if every C_k is contractive with alpha_k (identity: 1),
//    E||C(x) - x||^2 <= sum_k (1 - alpha_k) ||x_k||^2 <= (1 - min alpha_k) ||x||^2: contractive
//    with alpha = min alpha_k. Else, if every C_k is unbiased with omega_k or dense (omega 0),
//    unbiased with omega = max omega_k by the same sum. Else, if every C_k is contractive or
//    unbiased with omega_k < 1 (then E||C_k(x_k) - x_k||^2 <= omega_k ||x_k||^2: contractive with
//    alpha_k = 1 - omega_k, as in compose.hpp), contractive with alpha = the smallest of these
//    (e.g. topk+qsgd, where a one-coordinate tensor leaves only the unbiased quantiser). Else
//    biased.
//  * Positively homogeneous / deterministic if every C_k is. Theoretical bits: the sum of the
//    C_k's bits plus 192 per tensor (its part's 4-byte length and 20-byte header, which the
//    single-message convention leaves out only once); index bits: the sum of the C_k's.
//  * Draws: C_0's draws on x_0, then C_1's on x_1, ... from the one Rng.
//  * State: workspace.parts[k] is tensor k's workspace (scratch, and its lowrank warm start).
//  * Levels (make_levelled_compressor, levelled_compressor.hpp): the same with L candidate
//    inner specs; tensor k uses level(k), its workspace is parts[k L + level] (k when L = 1,
//    as above), and every call adds x to workspace.accumulated. Class and homogeneity are the
//    worst case over every (tensor, level) pair, so a method's check holds at any level;
//    bits are those of the current levels.
//  * Cost: one finiteness pass over x (so that errors name the model's coordinate), then the
//    C_k's costs. No allocation once out.parts, workspace.parts and their buffers have grown.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "compressors/builtin.hpp"
#include "compressors/compressor_input.hpp"
#include "ecco/error.hpp"
#include "ecco/levelled_compressor.hpp"

namespace ecco::detail {
namespace {

constexpr double kPartOverheadBits = 8.0 * (4 + 20);  // a part's length and fixed header

struct Tensor {
  std::size_t offset = 0;
  std::size_t size = 0;
  std::vector<const Compressor*> at;  // per level: identity_, an inner_ or one of per_tensor_
  std::vector<char> dense;            // per level
  std::vector<char> lowrank;          // per level: a lowrank factorisation
};

class TensorWise final : public LevelledCompressor {
 public:
  TensorWise(std::span<const std::string> level_specs, const TensorLayout& layout, std::size_t dense_below,
             std::uint32_t initial_level, bool levelled)
      : identity_(make_compressor("identity")), dense_below_(dense_below), levelled_(levelled) {
    if (level_specs.empty()) throw std::invalid_argument("tensorwise: no level");
    if (initial_level >= level_specs.size()) throw std::invalid_argument("tensorwise: initial level out of range");
    dim_ = layout_dim(layout);
    check_layout(layout, dim_);
    if (dim_ > std::numeric_limits<std::uint32_t>::max()) {
      throw std::invalid_argument("tensorwise: the layout's dimension " + std::to_string(dim_) +
                                  " does not fit the wire's 32-bit dimension");
    }
    tensors_.resize(layout.size());
    for (std::size_t k = 0; k < layout.size(); ++k) {
      tensors_[k].offset = layout[k].offset;
      tensors_[k].size = layout[k].size();
    }
    std::string described;
    for (const std::string& inner_spec : level_specs) {
      level_specs_.push_back(inner_spec);
      inners_.push_back(make_compressor(inner_spec));
      const Compressor* inner = inners_.back().get();
      const std::optional<LowRankSettings> lowrank = lowrank_settings(*inner);
      if (lowrank && lowrank->shared) {
        throw ConfigError("compressor '" + inner_spec +
                          "' per tensor: factor=shared is not available with --granularity tensor (use factor=own, "
                          "or --granularity global)");
      }
      if (lowrank && lowrank->rows != 0) {
        throw ConfigError("compressor '" + inner_spec +
                          "' per tensor: lowrank takes each tensor's rows from the model, drop rows=" +
                          std::to_string(lowrank->rows));
      }
      for (std::size_t k = 0; k < layout.size(); ++k) {
        const TensorShape& shape = layout[k];
        Tensor& t = tensors_[k];
        const Compressor* chosen = inner;
        bool dense = t.size < dense_below_;
        if (!dense && lowrank) {
          if (shape.cols == 1 || std::min(shape.rows, shape.cols) <= lowrank->rank) {
            dense = true;
          } else {
            per_tensor_.push_back(make_compressor("lowrank:r=" + std::to_string(lowrank->rank) +
                                                  ",rows=" + std::to_string(shape.rows)));
            chosen = per_tensor_.back().get();
          }
        }
        t.at.push_back(dense ? identity_.get() : chosen);
        t.dense.push_back(dense ? 1 : 0);
        t.lowrank.push_back(!dense && lowrank ? 1 : 0);
      }
      const std::string one = lowrank ? "lowrank:r=" + std::to_string(lowrank->rank) : inner->spec();
      described += (described.empty() ? "" : " | ") + one;
    }
    level_.assign(tensors_.size(), initial_level);
    const std::string shape = std::to_string(tensors_.size()) + (tensors_.size() == 1 ? " tensor" : " tensors") +
                              ", dense below " + std::to_string(dense_below_);
    name_ = levelled_ ? "levels [" + described + "] per tensor (" + shape + ")" : described + " per tensor (" + shape + ")";
  }

  std::string spec() const override { return name_; }
  // Parts messages are never summable; the stream is the inner compressors'.
  bool common_stream() const override {
    for (const auto& inner : inners_) {
      if (inner->common_stream()) return true;
    }
    return false;
  }

  CompressorTraits traits(std::size_t dim) const override {
    check_dim(dim);
    bool contractive = true;
    bool unbiased = true;
    bool mixed_contractive = true;  // every part contractive or unbiased with omega < 1
    double alpha = 1.0;
    double omega = 0.0;
    double mixed_alpha = 1.0;
    CompressorTraits total{.kind = CompressorClass::biased,
                           .alpha = 0.0,
                           .omega = 0.0,
                           .positively_homogeneous = true,
                           .deterministic = true,
                           .bits = 0.0,
                           .index_bits = 0.0, .capped = {}};
    for (std::size_t k = 0; k < tensors_.size(); ++k) {
      const Tensor& t = tensors_[k];
      for (std::size_t c = 0; c < t.at.size(); ++c) {
        const CompressorTraits part = t.at[c]->traits(t.size);
        contractive &= part.kind == CompressorClass::contractive;
        unbiased &= t.dense[c] != 0 || part.kind == CompressorClass::unbiased;
        if (part.kind == CompressorClass::contractive) {
          alpha = std::min(alpha, part.alpha);
          mixed_alpha = std::min(mixed_alpha, part.alpha);
        } else if (part.kind == CompressorClass::unbiased && part.omega < 1.0) {
          mixed_alpha = std::min(mixed_alpha, 1.0 - part.omega);
        } else {
          mixed_contractive = false;
        }
        if (part.kind == CompressorClass::unbiased) omega = std::max(omega, part.omega);
        total.positively_homogeneous &= part.positively_homogeneous;
        total.deterministic &= part.deterministic;
        if (c == level_[k]) {
          total.bits += part.bits + kPartOverheadBits;
          total.index_bits += part.index_bits;
        }
      }
    }
    if (contractive) {
      total.kind = CompressorClass::contractive;
      total.alpha = alpha;
    } else if (unbiased) {
      total.kind = CompressorClass::unbiased;
      total.omega = omega;
    } else if (mixed_contractive) {
      total.kind = CompressorClass::contractive;
      total.alpha = mixed_alpha;
    }
    return total;
  }

  void compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& rng, CompressorWorkspace& workspace,
                Message& out) const override {
    check_dim(static_cast<std::size_t>(x.size()));
    check_finite(x.data(), dim_, "tensorwise");
    const std::size_t levels = level_specs_.size();
    if (workspace.parts.size() < tensors_.size() * levels) workspace.parts.resize(tensors_.size() * levels);
    out.set_parts(static_cast<std::uint32_t>(dim_), static_cast<std::uint32_t>(tensors_.size()));
    for (std::size_t k = 0; k < tensors_.size(); ++k) {
      const Tensor& t = tensors_[k];
      const std::uint32_t c = level_[k];
      t.at[c]->compress(x.segment(static_cast<Eigen::Index>(t.offset), static_cast<Eigen::Index>(t.size)), rng,
                        workspace.parts[k * levels + c], out.parts[k]);
    }
    if (levelled_) {
      if (workspace.accumulated.size() != x.size()) workspace.accumulated = Eigen::VectorXd::Zero(x.size());
      workspace.accumulated += x;
    }
  }

  std::size_t tensor_count() const override { return tensors_.size(); }
  std::size_t level_count() const override { return level_specs_.size(); }
  const std::string& level_spec(std::size_t level) const override { return level_specs_.at(level); }
  std::uint32_t level(std::size_t tensor) const override { return level_.at(tensor); }

  void set_levels(std::span<const std::uint32_t> levels) override {
    if (levels.size() != tensors_.size()) {
      throw std::invalid_argument("tensorwise: " + std::to_string(levels.size()) + " levels for " +
                                  std::to_string(tensors_.size()) + " tensors");
    }
    for (const std::uint32_t c : levels) {
      if (c >= level_specs_.size()) throw std::invalid_argument("tensorwise: level " + std::to_string(c) + " out of range");
    }
    level_.assign(levels.begin(), levels.end());
  }

  std::uint64_t part_bytes(std::size_t tensor, std::size_t level) const override {
    const Tensor& t = tensors_.at(tensor);
    const double bits = t.at.at(level)->traits(t.size).bits + kPartOverheadBits;
    return static_cast<std::uint64_t>(std::ceil(bits / 8.0));
  }

  bool dense(std::size_t tensor, std::size_t level) const override { return tensors_.at(tensor).dense.at(level) != 0; }

  void take_errors(CompressorWorkspace& workspace, Rng& rng, std::span<double> errors) const override {
    const std::size_t levels = level_specs_.size();
    if (errors.size() != tensors_.size() * levels) {
      throw std::invalid_argument("tensorwise: " + std::to_string(errors.size()) + " error entries for " +
                                  std::to_string(tensors_.size()) + " tensors x " + std::to_string(levels) + " levels");
    }
    if (workspace.accumulated.size() == 0) return;
    if (workspace.parts.size() < tensors_.size() * levels) workspace.parts.resize(tensors_.size() * levels);
    CompressorWorkspace trial;
    Message message;
    Eigen::VectorXd residual;
    for (std::size_t k = 0; k < tensors_.size(); ++k) {
      const Tensor& t = tensors_[k];
      const auto a = workspace.accumulated.segment(static_cast<Eigen::Index>(t.offset), static_cast<Eigen::Index>(t.size));
      for (std::size_t c = 0; c < levels; ++c) {
        if (t.dense[c] != 0) continue;  // identity: no error
        trial = workspace.parts[k * levels + c];
        for (int pass = 0; pass < (t.lowrank[c] != 0 ? 3 : 1); ++pass) t.at[c]->compress(a, rng, trial, message);
        residual = a;
        message.add_to(residual, -1.0);
        errors[k * levels + c] += residual.squaredNorm();
      }
    }
    workspace.accumulated.setZero();
  }

 private:
  void check_dim(std::size_t dim) const {
    if (dim != dim_) {
      throw std::invalid_argument("tensorwise compressor: dimension " + std::to_string(dim) +
                                  " differs from its tensor layout's " + std::to_string(dim_));
    }
  }

  std::vector<std::string> level_specs_;
  std::vector<std::unique_ptr<Compressor>> inners_;  // one per level
  std::unique_ptr<Compressor> identity_;
  std::vector<std::unique_ptr<Compressor>> per_tensor_;  // lowrank, one per factorised (tensor, level)
  std::vector<Tensor> tensors_;
  std::vector<std::uint32_t> level_;  // per tensor
  std::size_t dense_below_ = 0;
  std::size_t dim_ = 0;
  bool levelled_ = false;  // made by make_levelled_compressor: accumulates its inputs
  std::string name_;
};

}  // namespace
}  // namespace ecco::detail

namespace ecco {

std::unique_ptr<Compressor> make_tensorwise_compressor(std::string_view inner_spec, const TensorLayout& layout,
                                                      std::size_t dense_below) {
  const std::string spec(inner_spec);
  return std::make_unique<detail::TensorWise>(std::span<const std::string>(&spec, 1), layout, dense_below, 0, false);
}

LevelCosts level_costs(const LevelledCompressor& compressor) {
  LevelCosts costs;
  costs.tensors = compressor.tensor_count();
  costs.levels = compressor.level_count();
  costs.error.assign(costs.tensors * costs.levels, 0.0);
  for (std::size_t k = 0; k < costs.tensors; ++k) {
    for (std::size_t c = 0; c < costs.levels; ++c) costs.bytes.push_back(compressor.part_bytes(k, c));
  }
  return costs;
}

std::unique_ptr<LevelledCompressor> make_levelled_compressor(std::span<const std::string> level_specs,
                                                             const TensorLayout& layout, std::size_t dense_below,
                                                             std::uint32_t initial_level) {
  return std::make_unique<detail::TensorWise>(level_specs, layout, dense_below, initial_level, true);
}

}  // namespace ecco
