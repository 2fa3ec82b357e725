// lowrank:r=R,rows=M: PowerSGD (Vogels et al. 2019), one warm-started power iteration per call.
// x is viewed as the M x N matrix X (column-major, X(i, j) = x[i + M j], N = ceil(d / M), the
// entries past d zero); rows=0 picks M = ceil(sqrt(d)), and M is capped at d. With Q the previous call's factor
// (N x R; i.i.d. N(0, 1) from the rng on the first call or when the shape changes):
//   P = orthonormalise(X Q)  (modified Gram-Schmidt, twice; a column that vanishes is set to 0),
//   Q = X^T P,  C(x) = the first d entries of P Q^T = P P^T X,
// and the new Q is kept in the workspace (client state) for the next call. R is capped at
// min(M, N).
//  * C(x) is the orthogonal projection of X's columns on span(P), so ||C(x) - x|| <= ||x||,
//    but one power iteration gives no worst-case alpha > 0: biased (EF methods that need
//    alpha refuse it). Positively homogeneous for a given warm start. Not deterministic.
//  * Sends P and Q: R (M + N) values, theoretical bits 32 R (M + N).
//  * Cost O(d R) per call (products written as column operations in a fixed order, so the
//    result does not depend on the machine's cache sizes).
#include <algorithm>
#include <cmath>

#include "compressors/builtin.hpp"
#include "compressors/compressor_input.hpp"
#include "ecco/error.hpp"

namespace ecco::detail {
namespace {

struct Shape {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t rank = 0;
};

// Orthonormalises the columns of P in place; columns that vanish (relative to their norm
// before orthogonalisation) become zero.
void orthonormalise(Eigen::MatrixXd& P) {
  for (Eigen::Index c = 0; c < P.cols(); ++c) {
    const double before = P.col(c).norm();
    for (int pass = 0; pass < 2; ++pass) {
      for (Eigen::Index prior = 0; prior < c; ++prior) {
        const double projection = P.col(prior).dot(P.col(c));
        P.col(c) -= projection * P.col(prior);
      }
    }
    const double after = P.col(c).norm();
    if (!(after > 1e-12 * before) || after == 0.0) {
      P.col(c).setZero();
    } else {
      P.col(c) /= after;
    }
  }
}

class LowRank final : public Compressor {
 public:
  explicit LowRank(const Spec& spec) {
    const std::int64_t r = spec.get_int("r");
    const std::int64_t rows = spec.get_int("rows");
    if (r < 1 || r > (1 << 20)) {
      throw ConfigError("compressor 'lowrank': r must be a whole number in [1, 2^20], got '" + spec.get_string("r") + "'");
    }
    if (rows < 0 || rows > 4294967295LL) {
      throw ConfigError("compressor 'lowrank': rows must be 0 (about sqrt(d)) or a whole number of rows, got '" +
                        spec.get_string("rows") + "'");
    }
    rank_ = static_cast<std::size_t>(r);
    rows_ = static_cast<std::size_t>(rows);
  }

  LowRankSettings settings() const { return {.rank = rank_, .rows = rows_}; }

  std::string spec() const override {
    return "lowrank:r=" + std::to_string(rank_) + ",rows=" + std::to_string(rows_);
  }

  CompressorTraits traits(std::size_t dim) const override {
    const Shape s = shape(dim);
    return {.kind = CompressorClass::biased,
            .alpha = 0.0,
            .omega = 0.0,
            .positively_homogeneous = true,
            .deterministic = false,
            .bits = 32.0 * static_cast<double>(s.rank * (s.rows + s.cols)),
            .index_bits = 0.0};
  }

  void compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& rng, CompressorWorkspace& ws, Message& out) const override {
    check_compressor_input(x, "lowrank");
    const auto d = static_cast<std::size_t>(x.size());
    const Shape s = shape(d);
    const auto m = static_cast<Eigen::Index>(s.rows);
    const auto n = static_cast<Eigen::Index>(s.cols);
    const auto r = static_cast<Eigen::Index>(s.rank);
    if (ws.scratch.size() < s.rows * s.cols) ws.scratch.resize(s.rows * s.cols);
    std::copy(x.data(), x.data() + d, ws.scratch.begin());
    std::fill(ws.scratch.begin() + static_cast<std::ptrdiff_t>(d),
              ws.scratch.begin() + static_cast<std::ptrdiff_t>(s.rows * s.cols), 0.0);
    const Eigen::Map<const Eigen::MatrixXd> X(ws.scratch.data(), m, n);

    Eigen::MatrixXd& Q = ws.warm_start;
    if (Q.rows() != n || Q.cols() != r) {
      Q.resize(n, r);
      for (Eigen::Index c = 0; c < r; ++c) {
        for (Eigen::Index j = 0; j < n; ++j) Q(j, c) = rng.normal();
      }
    }
    Eigen::MatrixXd& P = ws.factor;
    P.setZero(m, r);
    for (Eigen::Index c = 0; c < r; ++c) {
      for (Eigen::Index j = 0; j < n; ++j) P.col(c) += Q(j, c) * X.col(j);  // P = X Q
    }
    orthonormalise(P);
    for (Eigen::Index c = 0; c < r; ++c) {
      for (Eigen::Index j = 0; j < n; ++j) Q(j, c) = X.col(j).dot(P.col(c));  // Q = X^T P
    }
    out.set_lowrank(static_cast<std::uint32_t>(d), static_cast<std::uint32_t>(s.rows), static_cast<std::uint32_t>(s.rank));
    std::copy(P.data(), P.data() + m * r, out.values.begin());
    std::copy(Q.data(), Q.data() + n * r, out.values.begin() + m * r);
  }

 private:
  Shape shape(std::size_t dim) const {
    Shape s;
    s.rows = rows_ == 0 ? static_cast<std::size_t>(std::ceil(std::sqrt(static_cast<double>(dim)))) : rows_;
    if (rows_ == 0) {
      while (s.rows > 1 && (s.rows - 1) * (s.rows - 1) >= dim) --s.rows;  // exact ceil(sqrt(d))
      while (s.rows * s.rows < dim) ++s.rows;
    }
    s.rows = std::min(s.rows, dim);
    s.cols = (dim + s.rows - 1) / s.rows;
    s.rank = std::min({rank_, s.rows, s.cols});
    return s;
  }

  std::size_t rank_ = 1;
  std::size_t rows_ = 0;
};

}  // namespace

std::unique_ptr<Compressor> make_lowrank(const Spec& spec) { return std::make_unique<LowRank>(spec); }

std::optional<LowRankSettings> lowrank_settings(const Compressor& compressor) {
  const auto* lowrank = dynamic_cast<const LowRank*>(&compressor);
  if (lowrank == nullptr) return std::nullopt;
  return lowrank->settings();
}

}  // namespace ecco::detail
