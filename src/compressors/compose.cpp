// A+B: see compose.hpp. The random draws are A's, then B's, from the same stream.
#include "compressors/compose.hpp"

#include "ecco/error.hpp"

namespace ecco::detail {

Composition::Composition(std::unique_ptr<Compressor> sparsifier, std::shared_ptr<const Quantiser> quantiser)
    : sparsifier_(std::move(sparsifier)),
      sparsifier_as_(dynamic_cast<const Sparsifier*>(sparsifier_.get())),
      quantiser_(std::move(quantiser)) {}

CompressorTraits Composition::traits(std::size_t dim) const {
  const CompressorTraits a = sparsifier_->traits(dim);
  const std::size_t kept = sparsifier_as_->kept(dim);
  const CompressorTraits b = quantiser_->traits(kept);
  CompressorTraits t;
  t.positively_homogeneous = a.positively_homogeneous && b.positively_homogeneous;
  t.deterministic = a.deterministic && b.deterministic;
  t.index_bits = a.index_bits;
  t.bits = a.index_bits + b.bits;
  t.capped = a.capped.empty() ? b.capped : a.capped;
  const bool identity = sparsifier_as_->is_projection() && kept == dim;
  if (identity) {
    t.kind = b.kind;
    t.alpha = b.alpha;
    t.omega = b.omega;
    return t;
  }
  if (a.kind == CompressorClass::unbiased && b.kind == CompressorClass::unbiased) {
    t.kind = CompressorClass::unbiased;
    t.alpha = 0.0;
    t.omega = a.omega + b.omega + a.omega * b.omega;
    return t;
  }
  double alpha_b = 0.0;
  if (b.kind == CompressorClass::contractive) alpha_b = b.alpha;
  if (b.kind == CompressorClass::unbiased && b.omega < 1.0) alpha_b = 1.0 - b.omega;
  if (sparsifier_as_->is_projection() && a.kind == CompressorClass::contractive && alpha_b > 0.0) {
    t.kind = CompressorClass::contractive;
    t.alpha = a.alpha * alpha_b;
    t.omega = 0.0;
    return t;
  }
  t.kind = CompressorClass::biased;
  t.alpha = 0.0;
  t.omega = 0.0;
  return t;
}

void Composition::compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& rng, CompressorWorkspace& workspace,
                           Message& out) const {
  sparsifier_->compress(x, rng, workspace, out);
  quantiser_->quantise(out.values.data(), rng, out);  // in place, on the kept values
}

std::unique_ptr<Compressor> make_composition(std::unique_ptr<Compressor> sparsifier,
                                             std::unique_ptr<Compressor> quantiser, const std::string& text) {
  if (dynamic_cast<const Sparsifier*>(sparsifier.get()) == nullptr) {
    throw ConfigError("compressor '" + text + "': the part before '+' must keep coordinates (identity, topk, randk), got '" +
                      sparsifier->spec() + "'");
  }
  const auto* quantised = dynamic_cast<const QuantisedCompressor*>(quantiser.get());
  if (quantised == nullptr) {
    throw ConfigError("compressor '" + text +
                      "': the part after '+' must quantise values (qsgd, natural, natural_dithering, terngrad, sign, "
                      "onebit), got '" +
                      quantiser->spec() + "'");
  }
  return std::make_unique<Composition>(std::move(sparsifier), quantised->quantiser());
}

}  // namespace ecco::detail
