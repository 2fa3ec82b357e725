// qsgd:s=S,norm=2|inf: QSGD / random dithering (Alistarh et al. 2017) on s uniform levels of
// the scale ||x||_p (dithering.hpp):  C(x)_j = ||x||_p sign(x_j) l_j / s.
//  * Unbiased with omega = min(d / s^2, sqrt(d) / s) (the QSGD bound; it holds for both norms
//    because ||x||_inf <= ||x||_2). The scale travels as fp32, rounded up; that enlarges the
//    variance by a relative 2^-23 at most, inside the bound's slack for d < 2^46 s^2.
//  * Positively homogeneous (the levels depend on x / ||x|| only), not deterministic.
//  * Theoretical bits: 32 + d (1 + ceil(log2(s + 1))) (sign and level of each coordinate).
#include <algorithm>
#include <cmath>

#include "compressors/builtin.hpp"
#include "compressors/dithering.hpp"

namespace ecco::detail {
namespace {

class Qsgd final : public Quantiser {
 public:
  explicit Qsgd(const Spec& spec) : s_(parse_levels(spec)), norm_(parse_dither_norm(spec)) {}

  std::string spec() const override {
    return "qsgd:norm=" + std::string(norm_ == DitherNorm::l2 ? "2" : "inf") + ",s=" + std::to_string(s_);
  }

  CompressorTraits traits(std::size_t n) const override {
    const auto d = static_cast<double>(n);
    const auto s = static_cast<double>(s_);
    return {.kind = CompressorClass::unbiased,
            .alpha = 0.0,
            .omega = std::min(d / (s * s), std::sqrt(d) / s),
            .positively_homogeneous = true,
            .deterministic = false,
            .bits = 32.0 + d * (1.0 + static_cast<double>(bits_for(s_))),
            .index_bits = 0.0, .capped = {}};
  }

  void quantise(const double* input, Rng& rng, Message& out) const override {
    dither_uniform(input, s_, norm_, "qsgd", rng, out);
  }

 private:
  std::uint32_t s_;
  DitherNorm norm_;
};

}  // namespace

std::unique_ptr<Compressor> make_qsgd(const Spec& spec) {
  return std::make_unique<QuantisedCompressor>(std::make_shared<Qsgd>(spec));
}

}  // namespace ecco::detail
