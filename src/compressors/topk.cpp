// topk:k=K keeps the K coordinates of largest magnitude and zeroes the rest.
//  * k >= 1 is a count (an integer; capped at d); 0 < k < 1 is a fraction of d, rounded to
//    the nearest count and at least 1.
//  * Ties in |x_j| go to the smaller index, so the result is a deterministic function of x.
//  * Contractive with alpha = K/d (worst case), positively homogeneous.
//  * Sends K (index, value) pairs; cost O(d) expected (selection) + O(K log K) (sorting).
#include <algorithm>
#include <cmath>

#include "compressors/builtin.hpp"
#include "compressors/compressor_input.hpp"
#include "ecco/error.hpp"

namespace ecco::detail {
namespace {

class TopK final : public Compressor {
 public:
  explicit TopK(std::string k_text, double k) : k_text_(std::move(k_text)), k_(k) {}

  std::string spec() const override { return "topk:k=" + k_text_; }

  CompressorTraits traits(std::size_t dim) const override {
    return {.kind = CompressorClass::contractive,
            .alpha = static_cast<double>(count_for(dim)) / static_cast<double>(dim),
            .omega = 0.0,
            .positively_homogeneous = true,
            .deterministic = true};
  }

  void compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& /*rng*/, CompressorWorkspace& workspace,
                Message& out) const override {
    check_compressor_input(x, "topk");
    const auto d = static_cast<std::size_t>(x.size());
    const std::size_t k = count_for(d);
    auto& order = workspace.order;
    order.resize(d);
    for (std::size_t j = 0; j < d; ++j) order[j] = static_cast<std::uint32_t>(j);
    // Strict total order: larger magnitude first, then smaller index.
    const auto before = [&x](std::uint32_t a, std::uint32_t b) {
      const double ma = std::fabs(x[a]);
      const double mb = std::fabs(x[b]);
      return ma > mb || (ma == mb && a < b);
    };
    if (k < d) {
      std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(), before);
    }
    std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));

    out.clear_sparse(static_cast<std::uint32_t>(d));
    out.indices.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
    out.values.resize(k);
    for (std::size_t i = 0; i < k; ++i) out.values[i] = x[out.indices[i]];
  }

  std::size_t count_for(std::size_t dim) const {
    std::size_t k = 0;
    if (k_ >= 1.0) {
      k = static_cast<std::size_t>(k_);
    } else {
      k = static_cast<std::size_t>(std::llround(k_ * static_cast<double>(dim)));
      k = std::max<std::size_t>(k, 1);
    }
    return std::min(k, dim);
  }

 private:
  std::string k_text_;
  double k_;
};

}  // namespace

std::unique_ptr<Compressor> make_topk(const Spec& spec) {
  const double k = spec.get_double("k");
  if (!(k > 0.0)) {
    throw ConfigError("compressor 'topk': k must be a count >= 1 or a fraction in (0, 1), got '" +
                      spec.get_string("k") + "'");
  }
  if (k >= 1.0 && (k != std::floor(k) || k > 4294967295.0)) {
    throw ConfigError("compressor 'topk': k >= 1 is a count and must be a whole number below 2^32, got '" +
                      spec.get_string("k") + "'");
  }
  return std::make_unique<TopK>(spec.get_string("k"), k);
}

}  // namespace ecco::detail
