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
//  * Cost: one finiteness pass over x (so that errors name the model's coordinate), then the
//    C_k's costs. No allocation once out.parts, workspace.parts and their buffers have grown.
#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "compressors/builtin.hpp"
#include "compressors/compressor_input.hpp"
#include "ecco/error.hpp"

namespace ecco::detail {
namespace {

constexpr double kPartOverheadBits = 8.0 * (4 + 20);  // a part's length and fixed header

struct Tensor {
  std::size_t offset = 0;
  std::size_t size = 0;
  const Compressor* compressor = nullptr;  // identity_, inner_ or one of per_tensor_
  bool dense = false;
};

class TensorWise final : public Compressor {
 public:
  TensorWise(std::string_view inner_spec, const TensorLayout& layout, std::size_t dense_below)
      : inner_(make_compressor(inner_spec)), identity_(make_compressor("identity")), dense_below_(dense_below) {
    dim_ = layout_dim(layout);
    check_layout(layout, dim_);
    if (dim_ > std::numeric_limits<std::uint32_t>::max()) {
      throw std::invalid_argument("tensorwise: the layout's dimension " + std::to_string(dim_) +
                                  " does not fit the wire's 32-bit dimension");
    }
    const std::optional<LowRankSettings> lowrank = lowrank_settings(*inner_);
    if (lowrank && lowrank->shared) {
      throw ConfigError("compressor '" + std::string(inner_spec) +
                        "' per tensor: factor=shared is not available with --granularity tensor (use factor=own, "
                        "or --granularity global)");
    }
    if (lowrank && lowrank->rows != 0) {
      throw ConfigError("compressor '" + std::string(inner_spec) +
                        "' per tensor: lowrank takes each tensor's rows from the model, drop rows=" +
                        std::to_string(lowrank->rows));
    }
    for (const TensorShape& shape : layout) {
      Tensor t{.offset = shape.offset, .size = shape.size(), .compressor = inner_.get(), .dense = false};
      if (t.size < dense_below_) {
        t.dense = true;
      } else if (lowrank) {
        if (shape.cols == 1 || std::min(shape.rows, shape.cols) <= lowrank->rank) {
          t.dense = true;
        } else {
          per_tensor_.push_back(make_compressor("lowrank:r=" + std::to_string(lowrank->rank) +
                                                ",rows=" + std::to_string(shape.rows)));
          t.compressor = per_tensor_.back().get();
        }
      }
      if (t.dense) t.compressor = identity_.get();
      tensors_.push_back(t);
    }
    name_ = (lowrank ? "lowrank:r=" + std::to_string(lowrank->rank) : inner_->spec()) + " per tensor (" +
            std::to_string(tensors_.size()) + (tensors_.size() == 1 ? " tensor" : " tensors") + ", dense below " +
            std::to_string(dense_below_) + ")";
  }

  std::string spec() const override { return name_; }
  // Parts messages are never summable; the stream is the inner compressor's.
  bool common_stream() const override { return inner_->common_stream(); }

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
                           .index_bits = 0.0};
    for (const Tensor& t : tensors_) {
      const CompressorTraits part = t.compressor->traits(t.size);
      contractive &= part.kind == CompressorClass::contractive;
      unbiased &= t.dense || part.kind == CompressorClass::unbiased;
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
      total.bits += part.bits + kPartOverheadBits;
      total.index_bits += part.index_bits;
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
    if (workspace.parts.size() < tensors_.size()) workspace.parts.resize(tensors_.size());
    out.set_parts(static_cast<std::uint32_t>(dim_), static_cast<std::uint32_t>(tensors_.size()));
    for (std::size_t k = 0; k < tensors_.size(); ++k) {
      const Tensor& t = tensors_[k];
      t.compressor->compress(x.segment(static_cast<Eigen::Index>(t.offset), static_cast<Eigen::Index>(t.size)), rng,
                             workspace.parts[k], out.parts[k]);
    }
  }

 private:
  void check_dim(std::size_t dim) const {
    if (dim != dim_) {
      throw std::invalid_argument("tensorwise compressor: dimension " + std::to_string(dim) +
                                  " differs from its tensor layout's " + std::to_string(dim_));
    }
  }

  std::unique_ptr<Compressor> inner_;
  std::unique_ptr<Compressor> identity_;
  std::vector<std::unique_ptr<Compressor>> per_tensor_;  // lowrank, one per factorised tensor
  std::vector<Tensor> tensors_;
  std::size_t dense_below_ = 0;
  std::size_t dim_ = 0;
  std::string name_;
};

}  // namespace
}  // namespace ecco::detail

namespace ecco {

std::unique_ptr<Compressor> make_tensorwise_compressor(std::string_view inner_spec, const TensorLayout& layout,
                                                      std::size_t dense_below) {
  return std::make_unique<detail::TensorWise>(inner_spec, layout, dense_below);
}

}  // namespace ecco
