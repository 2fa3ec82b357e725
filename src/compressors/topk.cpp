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
//     (kth_largest_magnitude: one radix step, then nth_element on one bucket) is the K-th
//     largest overall; the output is every
//     candidate above t plus the first (K - #above) candidates equal to t, already in
//     increasing index order: no sort.
// Memory: the workspace holds the candidates, index and value (about 1.2 K entries of 12
// bytes; d when T = 0), so the output is built without reading x again.
#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>

#if defined(__AVX512F__) && defined(__AVX512VL__)
#include <immintrin.h>
#endif

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

// Collects (index, value) of every coordinate with !(|x_j| < threshold) into the workspace;
// returns their number. NumericError naming the first non-finite coordinate. The test runs on
// the bit patterns: for |x_j| and threshold >= 0 the order of the patterns (sign bit cleared) is the
// order of the values, and a NaN's pattern is above every threshold's, so it is collected
// (and reported) as the comparison on doubles would; on integers the test vectorises.
std::size_t collect_candidates(const double* x, std::size_t d, double threshold, CompressorWorkspace& ws) {
  const std::uint64_t threshold_bits = std::bit_cast<std::uint64_t>(threshold);
  std::size_t n = 0;
  for (std::size_t begin = 0; begin < d; begin += kBlock) {
    const std::size_t end = std::min(d, begin + kBlock);
    ensure_size(ws.order, n + (end - begin));
    ensure_size(ws.candidates, n + (end - begin));
    std::uint32_t* index = ws.order.data();
    double* value = ws.candidates.data();
    std::size_t j = begin;
#if defined(__AVX512F__) && defined(__AVX512VL__)
    // Eight coordinates per step: one compare on the patterns, and the hits compress-stored
    // (values and indices) in index order, without a branch per coordinate.
    const __m512i abs_mask = _mm512_set1_epi64(static_cast<long long>(~kSignBit));
    const __m512i bound = _mm512_set1_epi64(static_cast<long long>(threshold_bits));
    __m256i lanes =
        _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(begin)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i step = _mm256_set1_epi32(8);
    for (; j + 8 <= end; j += 8) {
      const __m512d v = _mm512_loadu_pd(x + j);
      const __mmask8 hit = _mm512_cmpge_epu64_mask(_mm512_and_si512(_mm512_castpd_si512(v), abs_mask), bound);
      if (hit != 0) {
        _mm512_mask_compressstoreu_pd(value + n, hit, v);
        _mm256_mask_compressstoreu_epi32(index + n, hit, lanes);
        n += static_cast<std::size_t>(std::popcount(static_cast<unsigned>(hit)));
      }
      lanes = _mm256_add_epi32(lanes, step);
    }
#else
    for (; j + 8 <= end; j += 8) {
      std::uint64_t any = 0;
      for (std::size_t i = 0; i < 8; ++i) {
        any |= static_cast<std::uint64_t>((std::bit_cast<std::uint64_t>(x[j + i]) & ~kSignBit) >= threshold_bits);
      }
      if (any == 0) continue;
      for (std::size_t i = 0; i < 8; ++i) {
        if (!(std::fabs(x[j + i]) < threshold)) {
          index[n] = static_cast<std::uint32_t>(j + i);
          value[n] = x[j + i];
          ++n;
        }
      }
    }
#endif
    for (; j < end; ++j) {
      if (!(std::fabs(x[j]) < threshold)) {
        index[n] = static_cast<std::uint32_t>(j);
        value[n] = x[j];
        ++n;
      }
    }
  }
  // A non-finite coordinate is always collected (its pattern is above every threshold), and
  // the candidates are in index order: the first non-finite candidate is the first overall.
  const double* value = ws.candidates.data();
  std::uint64_t all_ones = 0;
  for (std::size_t c = 0; c < n; ++c) {
    all_ones |= static_cast<std::uint64_t>((std::bit_cast<std::uint64_t>(value[c]) & kExponentBits) == kExponentBits);
  }
  if (all_ones != 0) {
    for (std::size_t c = 0; c < n; ++c) {
      if (!std::isfinite(value[c])) throw_not_finite("topk", ws.order[c], value[c]);
    }
  }
  return n;
}

// The k-th largest |value[c]| of n finite values (1 <= k <= n), by one radix step on the
// bit patterns (whose order is the order of the magnitudes): the patterns lie in [low, high],
// which share every bit above the highest bit where low and high differ; the 2^11 buckets of
// the next 11 bits are counted, the bucket holding the k-th largest is found from the top,
// and only its members go to nth_element. Cost O(n) plus nth_element on one bucket.
double kth_largest_magnitude(const double* value, std::size_t n, std::size_t k, std::vector<double>& scratch) {
  constexpr unsigned kBucketBits = 11;
  constexpr std::size_t kBuckets = std::size_t{1} << kBucketBits;
  std::uint64_t low = ~std::uint64_t{0};
  std::uint64_t high = 0;
  for (std::size_t c = 0; c < n; ++c) {
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(value[c]) & ~kSignBit;
    low = std::min(low, bits);
    high = std::max(high, bits);
  }
  const auto differing = static_cast<unsigned>(std::bit_width(low ^ high));
  const unsigned shift = differing > kBucketBits ? differing - kBucketBits : 0;
  const auto bucket_of = [low, shift](std::uint64_t bits) { return static_cast<std::size_t>((bits - low) >> shift); };
  // (bits - low) >> shift < 2^11: bits - low < 2^differing.
  std::size_t count[kBuckets] = {};
  for (std::size_t c = 0; c < n; ++c) ++count[bucket_of(std::bit_cast<std::uint64_t>(value[c]) & ~kSignBit)];
  std::size_t bucket = kBuckets;
  std::size_t above = 0;  // members of the buckets above `bucket`
  while (above + count[bucket - 1] < k) above += count[--bucket];
  --bucket;
  ensure_size(scratch, count[bucket]);
  std::size_t members = 0;
  for (std::size_t c = 0; c < n; ++c) {
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(value[c]) & ~kSignBit;
    if (bucket_of(bits) == bucket) scratch[members++] = std::bit_cast<double>(bits);
  }
  const std::size_t rank = k - above;  // 1-based rank inside the bucket
  std::nth_element(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(rank - 1),
                   scratch.begin() + static_cast<std::ptrdiff_t>(members), std::greater<>());
  return scratch[rank - 1];
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
            .index_bits = k * index_bits_for(dim),
            .capped = k_.capped_note("topk", dim)};
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

    const double* value = workspace.candidates.data();
    const double kth = kth_largest_magnitude(value, n, k, workspace.scratch);
    std::size_t above = 0;
    for (std::size_t c = 0; c < n; ++c) above += std::fabs(value[c]) > kth ? 1 : 0;
    std::size_t ties = k - above;

    // The kept values come from the candidates, not from x: no random reads of x.
    out.indices.resize(k);
    out.values.resize(k);
    std::size_t kept = 0;
    for (std::size_t c = 0; c < n && kept < k; ++c) {
      const double magnitude = std::fabs(value[c]);
      if (magnitude > kth || (magnitude == kth && ties > 0)) {
        if (magnitude == kth) --ties;
        out.indices[kept] = workspace.order[c];
        out.values[kept] = value[c];
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
