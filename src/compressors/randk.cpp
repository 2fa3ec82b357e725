// randk:k=K,scaled=false|true,shared_seed=false|true,coords=client|common keeps K coordinates
// chosen uniformly without replacement (k as for topk: a count, or a fraction of d).
//  * scaled=false: C(x) = x on the K coordinates. Contractive with alpha = K/d in
//    expectation (E||C(x) - x||^2 = (1 - K/d) ||x||^2 exactly).
//  * scaled=true: C(x) = (d/K) x on the K coordinates. Unbiased with omega = d/K - 1.
//  * Both positively homogeneous (same stream: same coordinates). Not deterministic.
//  * The coordinates are sample_indices(seed, d, K) (codec.hpp) for a seed = rng.next_u64():
//    one draw from the client's stream per call. With shared_seed=true the message carries the
//    seed, so the receiver regenerates the coordinates and only the values travel (64 bits
//    instead of the indices, when that is smallest).
//  * coords=common: every client draws from one common stream (Compressor::common_stream), so
//    all clients keep the same K coordinates in a round and their messages can be summed
//    without indices (--aggregation allreduce). Implies shared_seed=true. Each client's
//    C is still contractive / unbiased as above; the clients' errors are no longer independent.
//  * Theoretical bits: 32 K plus K ceil(log2 d) for indices, or 64 for the seed.
#include "compressors/builtin.hpp"
#include "compressors/compressor_input.hpp"
#include "ecco/codec.hpp"

namespace ecco::detail {
namespace {

class RandK final : public Sparsifier {
 public:
  explicit RandK(const Spec& spec)
      : k_(spec), scaled_(spec.get_bool("scaled")), common_(parse_coords(spec)),
        shared_seed_(common_ || spec.get_bool("shared_seed")) {}

  std::string spec() const override {
    return "randk:k=" + k_.text() + ",scaled=" + (scaled_ ? "true" : "false") +
           ",shared_seed=" + (shared_seed_ ? "true" : "false") + ",coords=" + (common_ ? "common" : "client");
  }

  bool common_stream() const override { return common_; }
  bool summable() const override { return common_; }

  CompressorTraits traits(std::size_t dim) const override {
    const auto k = static_cast<double>(k_.count_for(dim));
    const auto d = static_cast<double>(dim);
    const double index_bits = shared_seed_ ? 64.0 : k * index_bits_for(dim);
    CompressorTraits t{.kind = CompressorClass::contractive,
                       .alpha = k / d,
                       .omega = 0.0,
                       .positively_homogeneous = true,
                       .deterministic = k == d,
                       .bits = 32.0 * k + index_bits,
                       .index_bits = index_bits,
                       .capped = k_.capped_note("randk", dim)};
    if (scaled_) {
      t.kind = CompressorClass::unbiased;
      t.alpha = 0.0;
      t.omega = d / k - 1.0;
    }
    return t;
  }

  void compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& rng, CompressorWorkspace& /*workspace*/,
                Message& out) const override {
    check_compressor_input(x, "randk");
    const auto d = static_cast<std::size_t>(x.size());
    const std::size_t k = k_.count_for(d);
    const std::uint64_t seed = rng.next_u64();
    out.clear_sparse(static_cast<std::uint32_t>(d));
    sample_indices(seed, static_cast<std::uint32_t>(d), static_cast<std::uint32_t>(k), out.indices);
    out.seeded = shared_seed_;
    out.seed = shared_seed_ ? seed : 0;
    out.values.resize(k);
    const double factor = scaled_ ? static_cast<double>(d) / static_cast<double>(k) : 1.0;
    for (std::size_t i = 0; i < k; ++i) out.values[i] = factor * x[out.indices[i]];
  }

  std::size_t kept(std::size_t dim) const override { return k_.count_for(dim); }
  bool is_projection() const override { return !scaled_; }

 private:
  KeptCount k_;
  static bool parse_coords(const Spec& spec) {
    const std::string& coords = spec.get_string("coords");
    if (coords != "client" && coords != "common") {
      throw ConfigError("compressor 'randk': coords must be client or common, got '" + coords + "'");
    }
    return coords == "common";
  }

  bool scaled_;
  bool common_;
  bool shared_seed_;
};

}  // namespace

std::unique_ptr<Compressor> make_randk(const Spec& spec) { return std::make_unique<RandK>(spec); }

}  // namespace ecco::detail
