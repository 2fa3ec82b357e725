// bernoulli:p=P: lazy / Bernoulli compression (FL_PyTorch): with probability p (one uniform
// draw per call) C(x) = x / p, sent densely; otherwise C(x) = 0, sent as an empty sparse
// message (header only).
//  * Unbiased with omega = 1/p - 1. Positively homogeneous; deterministic only for p = 1.
//  * Theoretical bits 32 d p (expected).
#include "compressors/builtin.hpp"
#include "compressors/compressor_input.hpp"
#include "ecco/error.hpp"

namespace ecco::detail {
namespace {

class Bernoulli final : public Compressor {
 public:
  explicit Bernoulli(const Spec& spec) : text_(spec.get_string("p")), p_(spec.get_double("p")) {
    if (!(p_ > 0.0 && p_ <= 1.0)) {
      throw ConfigError("compressor 'bernoulli': p must be a probability in (0, 1], got '" + text_ + "'");
    }
  }

  std::string spec() const override { return "bernoulli:p=" + text_; }

  CompressorTraits traits(std::size_t dim) const override {
    return {.kind = CompressorClass::unbiased,
            .alpha = 0.0,
            .omega = 1.0 / p_ - 1.0,
            .positively_homogeneous = true,
            .deterministic = p_ == 1.0,
            .bits = 32.0 * static_cast<double>(dim) * p_,
            .index_bits = 0.0, .capped = {}};
  }

  void compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& rng, CompressorWorkspace& /*workspace*/,
                Message& out) const override {
    check_compressor_input(x, "bernoulli");
    if (rng.uniform() < p_) {
      out.set_dense(x);
      if (p_ != 1.0) {
        for (double& v : out.values) v /= p_;
      }
    } else {
      out.clear_sparse(static_cast<std::uint32_t>(x.size()));
    }
  }

 private:
  std::string text_;
  double p_;
};

}  // namespace

std::unique_ptr<Compressor> make_bernoulli(const Spec& spec) { return std::make_unique<Bernoulli>(spec); }

}  // namespace ecco::detail
