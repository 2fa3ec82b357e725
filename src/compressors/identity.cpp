// identity: C(x) = x. Contractive with alpha = 1 and unbiased with omega = 0; sends the
// dense vector (32 d bits at fp32). As the part before '+' it hands every value to the
// quantiser.
#include "compressors/builtin.hpp"
#include "compressors/compressor_input.hpp"

namespace ecco::detail {
namespace {

class Identity final : public Sparsifier {
 public:
  std::string spec() const override { return "identity"; }

  CompressorTraits traits(std::size_t dim) const override {
    return {.kind = CompressorClass::contractive,
            .alpha = 1.0,
            .omega = 0.0,
            .positively_homogeneous = true,
            .deterministic = true,
            .bits = 32.0 * static_cast<double>(dim),
            .index_bits = 0.0, .capped = {}};
  }

  void compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& /*rng*/, CompressorWorkspace& /*workspace*/,
                Message& out) const override {
    check_compressor_input(x, "identity");
    out.set_dense(x);
  }

  std::size_t kept(std::size_t dim) const override { return dim; }
  bool is_projection() const override { return true; }
  bool summable() const override { return true; }
};

}  // namespace

std::unique_ptr<Compressor> make_identity(const Spec& /*spec*/) { return std::make_unique<Identity>(); }

}  // namespace ecco::detail
