#pragma once
// Composition "A+B" (private to src/compressors): the sparsifier A, then the quantiser B
// applied to A's kept values (e.g. topk:k=0.01+qsgd:s=16).
#include <memory>
#include <string>

#include "compressors/builtin.hpp"

namespace ecco::detail {

class Composition final : public Compressor {
 public:
  Composition(std::unique_ptr<Compressor> sparsifier, std::shared_ptr<const Quantiser> quantiser);

  std::string spec() const override { return sparsifier_->spec() + "+" + quantiser_->spec(); }
  // With K = A.kept(d), B's traits on K values:
  //  * A keeps every coordinate as is (identity, or K = d): B's traits, plus A's index bits;
  //  * A and B unbiased: unbiased, omega = omega_A + omega_B + omega_A omega_B;
  //  * A a projection (contractive alpha_A) and B contractive with alpha_B, or unbiased with
  //    omega_B < 1 (then alpha_B = 1 - omega_B): contractive, alpha = alpha_A alpha_B, because
  //    E||B(y) - x||^2 = ||x - y||^2 + E||B(y) - y||^2 <= ||x||^2 - alpha_B ||y||^2 for y = A(x);
  //  * otherwise biased (contractive(A+B) rescales an unbiased B, see contractive.cpp).
  CompressorTraits traits(std::size_t dim) const override;
  void compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& rng, CompressorWorkspace& workspace,
                Message& out) const override;

  // The sparsifier's stream; never summable (the values are quantised).
  bool common_stream() const override { return sparsifier_->common_stream(); }

  const Sparsifier& sparsifier() const { return *sparsifier_as_; }
  const Quantiser& quantiser() const { return *quantiser_; }

 private:
  std::unique_ptr<Compressor> sparsifier_;
  const Sparsifier* sparsifier_as_;
  std::shared_ptr<const Quantiser> quantiser_;
};

}  // namespace ecco::detail
