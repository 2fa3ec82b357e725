// contractive(<spec>): the EF-ready rescaling of an unbiased compressor (ALGORITHMS.md
// section 2, composition rules 1 and 2):
//  * <spec> unbiased with omega:  C = Q / (omega + 1), contractive with alpha = 1 / (omega + 1);
//  * <spec> = A+B with A a projection sparsifier (identity, topk, randk unscaled; alpha_A) and B
//    unbiased (omega_B on the K kept values):  C = B(A(x)) / (omega_B + 1), contractive with
//    alpha = alpha_A / (omega_B + 1) (E||C(x) - x||^2 = ||x||^2 - ||A(x)||^2 / (omega_B + 1)).
// Raw values are multiplied by 1 / (omega + 1); quantised messages get their fp32 scale
// multiplied and rounded to the nearest fp32 value (relative 2^-24, which moves the bound
// by a relative 2^-48 at most). Homogeneity and determinism are the inner compressor's.
#include <cmath>

#include "compressors/builtin.hpp"
#include "compressors/compose.hpp"
#include "compressors/quantised.hpp"
#include "ecco/error.hpp"

namespace ecco::detail {
namespace {

class Contractive final : public Compressor {
 public:
  Contractive(std::unique_ptr<Compressor> inner, const Composition* composition)
      : inner_(std::move(inner)), composition_(composition) {}

  std::string spec() const override { return "contractive(" + inner_->spec() + ")"; }
  // Scaling raw values keeps them summable; the stream is the inner compressor's.
  bool common_stream() const override { return inner_->common_stream(); }
  bool summable() const override { return inner_->summable(); }

  CompressorTraits traits(std::size_t dim) const override {
    CompressorTraits t = inner_->traits(dim);
    const double gain = gain_for(dim);
    t.kind = CompressorClass::contractive;
    t.alpha = composition_ != nullptr ? composition_->sparsifier().traits(dim).alpha * gain : gain;
    t.omega = 0.0;
    return t;
  }

  void compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& rng, CompressorWorkspace& workspace,
                Message& out) const override {
    inner_->compress(x, rng, workspace, out);
    const double gain = gain_for(x.size() > 0 ? static_cast<std::size_t>(x.size()) : 1);
    if (out.code == ValueCode::raw) {
      for (double& v : out.values) v *= gain;
      return;
    }
    double scale = 0.0;
    if (!round_to_fp32(out.scale * gain, scale)) throw NumericError("contractive: scale overflows fp32");
    out.scale = scale;
    for (std::size_t k = 0; k < out.values.size(); ++k) {
      out.values[k] = quantised_value(out.code, out.levels[k], out.level_count, scale);
    }
  }

 private:
  // 1 / (omega + 1) with the omega of rule 1 or rule 2.
  double gain_for(std::size_t dim) const {
    const double omega = composition_ != nullptr
                             ? composition_->quantiser().traits(composition_->sparsifier().kept(dim)).omega
                             : inner_->traits(dim).omega;
    return 1.0 / (omega + 1.0);
  }

  std::unique_ptr<Compressor> inner_;
  const Composition* composition_;  // inside inner_ for rule 2, else null
};

}  // namespace

std::unique_ptr<Compressor> make_contractive(std::unique_ptr<Compressor> inner, const std::string& text) {
  const auto* composition = dynamic_cast<const Composition*>(inner.get());
  if (composition != nullptr && composition->sparsifier().is_projection() &&
      composition->quantiser().traits(1).kind == CompressorClass::unbiased) {
    return std::make_unique<Contractive>(std::move(inner), composition);
  }
  CompressorClass kind = CompressorClass::biased;
  try {
    kind = inner->traits(1024).kind;  // the class of every built-in compressor is the same for all d
  } catch (const ConfigError&) {
    kind = CompressorClass::biased;
  }
  if (kind != CompressorClass::unbiased) {
    throw ConfigError("compressor '" + text +
                      "': contractive(...) rescales an unbiased compressor (e.g. qsgd, natural, natural_dithering, "
                      "terngrad, bernoulli, randk with scaled=true) or a sparsifier followed by an unbiased quantiser "
                      "(e.g. topk:k=0.01+qsgd:s=16); '" +
                      inner->spec() + "' is " + std::string(to_string(kind)));
  }
  return std::make_unique<Contractive>(std::move(inner), nullptr);
}

}  // namespace ecco::detail
