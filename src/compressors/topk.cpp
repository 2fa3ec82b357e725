// topk:k=K keeps the K coordinates of largest magnitude and zeroes the rest.
//  * k >= 1 is a count (an integer; capped at d); 0 < k < 1 is a fraction of d, rounded to
//    the nearest count and at least 1.
//  * Ties in |x_j| go to the smaller index, so the result is a deterministic function of x.
//  * Contractive with alpha = K/d (worst case), positively homogeneous. Theoretical bits
//    K (32 + ceil(log2 d)).
//
// Selection, exact, in one streaming pass over x (O(d) + O(K) expected):
//  1. threshold T: for d >= kSampledDim, the magnitudes of m = kSampleSize coordinates at the
//     fixed positions floor(i d / m) are sampled, and T is the sample's r-th largest with
//     r = K m / d + 4 sqrt(K m / d) + 4, so that about K (1 + 4 / sqrt(K m / d)) coordinates
//     reach it; otherwise T = 0;
//  2. one pass collects, in index order, every coordinate with !(|x_j| < T) (NaN included,
//     and reported);
//  3. if fewer than K were collected, T was too high (an adversarial input): T = 0 and the
//     pass is repeated. Otherwise every coordinate of the top K is a candidate (each
//     candidate is >= T > every other coordinate), so the K-th largest candidate magnitude t
//     (nth_element on the candidates) is the K-th largest overall; the output is every
//     candidate above t plus the first (K - #above) candidates equal to t, already in
//     increasing index order: no sort.
// Memory: the workspace holds the candidates (about 1.2 K entries of 12 bytes; d when T = 0).
#include <algorithm>
#include <cmath>
#include <functional>

#include "compressors/builtin.hpp"
#include "compressors/compressor_input.hpp"
#include "ecco/error.hpp"

namespace ecco::detail {
namespace {

constexpr std::size_t kSampledDim = std::size_t{1} << 15;
constexpr std::size_t kSampleSize = std::size_t{1} << 14;
constexpr std::size_t kBlock = 4096;

// Grows v (never shrinks it) so that v.size() >= n; no allocation once large enough.
template <class T>
void ensure_size(std::vector<T>& v, std::size_t n) {
  if (v.size() < n) v.resize(std::max(n, 2 * v.size()));
}

// Magnitude threshold from a fixed-position sample (0 = every coordinate is a candidate).
double sample_threshold(const double* x, std::size_t d, std::size_t k, std::vector<double>& sample) {
  if (d < kSampledDim || 4 * k >= d) return 0.0;
  const std::size_t m = kSampleSize;
  ensure_size(sample, m);
  for (std::size_t i = 0; i < m; ++i) sample[i] = std::fabs(x[i * d / m]);
  const double expected = static_cast<double>(k) * static_cast<double>(m) / static_cast<double>(d);
  const auto rank = static_cast<std::size_t>(std::ceil(expected + 4.0 * std::sqrt(expected) + 4.0));
  if (rank >= m) return 0.0;
  // NaN would break the ordering; a non-finite sample means the input is rejected anyway.
  for (std::size_t i = 0; i < m; ++i) {
    if (!std::isfinite(sample[i])) return 0.0;
  }
  std::nth_element(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(rank - 1),
                   sample.begin() + static_cast<std::ptrdiff_t>(m), std::greater<>());
  return sample[rank - 1];
}

// Collects (index, magnitude) of every coordinate with !(|x_j| < threshold) into the
// workspace; returns their number. NumericError on a non-finite candidate.
std::size_t collect_candidates(const double* x, std::size_t d, double threshold, CompressorWorkspace& ws) {
  std::size_t n = 0;
  for (std::size_t begin = 0; begin < d; begin += kBlock) {
    const std::size_t end = std::min(d, begin + kBlock);
    ensure_size(ws.order, n + (end - begin));
    ensure_size(ws.magnitudes, n + (end - begin));
    std::uint32_t* index = ws.order.data();
    double* magnitude = ws.magnitudes.data();
    std::size_t j = begin;
    for (; j + 8 <= end; j += 8) {
      bool any = false;
      for (std::size_t i = 0; i < 8; ++i) any |= !(std::fabs(x[j + i]) < threshold);
      if (!any) continue;
      for (std::size_t i = 0; i < 8; ++i) {
        const double a = std::fabs(x[j + i]);
        if (!(a < threshold)) {
          if (!std::isfinite(a)) throw_not_finite("topk", j + i, x[j + i]);
          index[n] = static_cast<std::uint32_t>(j + i);
          magnitude[n] = a;
          ++n;
        }
      }
    }
    for (; j < end; ++j) {
      const double a = std::fabs(x[j]);
      if (!(a < threshold)) {
        if (!std::isfinite(a)) throw_not_finite("topk", j, x[j]);
        index[n] = static_cast<std::uint32_t>(j);
        magnitude[n] = a;
        ++n;
      }
    }
  }
  return n;
}

class TopK final : public Sparsifier {
 public:
  explicit TopK(const Spec& spec) : k_(spec) {}

  std::string spec() const override { return "topk:k=" + k_.text(); }

  CompressorTraits traits(std::size_t dim) const override {
    const auto k = static_cast<double>(k_.count_for(dim));
    return {.kind = CompressorClass::contractive,
            .alpha = k / static_cast<double>(dim),
            .omega = 0.0,
            .positively_homogeneous = true,
            .deterministic = true,
            .bits = k * (32.0 + index_bits_for(dim)),
            .index_bits = k * index_bits_for(dim)};
  }

  void compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& /*rng*/, CompressorWorkspace& workspace,
                Message& out) const override {
    check_dimension(x.size(), "topk");
    const auto d = static_cast<std::size_t>(x.size());
    const std::size_t k = k_.count_for(d);
    const double* data = x.data();
    out.clear_sparse(static_cast<std::uint32_t>(d));
    if (k >= d) {
      check_finite(data, d, "topk");
      out.indices.resize(d);
      for (std::size_t j = 0; j < d; ++j) out.indices[j] = static_cast<std::uint32_t>(j);
      out.values.assign(data, data + d);
      return;
    }
    std::size_t n = collect_candidates(data, d, sample_threshold(data, d, k, workspace.scratch), workspace);
    if (n < k) n = collect_candidates(data, d, 0.0, workspace);

    // The K-th largest candidate magnitude.
    ensure_size(workspace.scratch, n);
    std::copy(workspace.magnitudes.begin(), workspace.magnitudes.begin() + static_cast<std::ptrdiff_t>(n),
              workspace.scratch.begin());
    std::nth_element(workspace.scratch.begin(), workspace.scratch.begin() + static_cast<std::ptrdiff_t>(k - 1),
                     workspace.scratch.begin() + static_cast<std::ptrdiff_t>(n), std::greater<>());
    const double kth = workspace.scratch[k - 1];
    const double* magnitude = workspace.magnitudes.data();
    std::size_t above = 0;
    for (std::size_t c = 0; c < n; ++c) above += magnitude[c] > kth ? 1 : 0;
    std::size_t ties = k - above;

    out.indices.resize(k);
    out.values.resize(k);
    std::size_t kept = 0;
    for (std::size_t c = 0; c < n && kept < k; ++c) {
      if (magnitude[c] > kth || (magnitude[c] == kth && ties > 0)) {
        if (magnitude[c] == kth) --ties;
        const std::uint32_t j = workspace.order[c];
        out.indices[kept] = j;
        out.values[kept] = data[j];
        ++kept;
      }
    }
  }

  std::size_t kept(std::size_t dim) const override { return k_.count_for(dim); }
  bool is_projection() const override { return true; }

 private:
  KeptCount k_;
};

}  // namespace

std::unique_ptr<Compressor> make_topk(const Spec& spec) { return std::make_unique<TopK>(spec); }

}  // namespace ecco::detail
