// lowrank:r=R,rows=M,factor=own|shared: PowerSGD (Vogels et al. 2019).
//
// factor=own (default): one warm-started power iteration per call, each client on its own.
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
//
// factor=shared: the projection on the run's shared factor (shared_factor.hpp), which the
// runtime keeps in step on every process from the aggregated messages:
//   C(x) = P P^T X, sending A = X^T P and S = X Q (P, Q the shared factors; shared_lowrank layout).
//  * Linear in x for a given factor, so the clients' messages sum value by value
//    (--aggregation allreduce); the same bits, 32 R (M + N), as factor=own.
//  * ||C(x) - x|| <= ||x|| (an orthogonal projection); biased, no worst-case alpha;
//    positively homogeneous; not deterministic (depends on the shared factor). Draws nothing.
//  * Needs CompressorWorkspace::shared_factor of the same shape (ConfigError otherwise).
#include <algorithm>
#include <cmath>

#include "compressors/builtin.hpp"
#include "compressors/compressor_input.hpp"
#include "compressors/orthonormalise.hpp"
#include "ecco/error.hpp"

namespace ecco::detail {
namespace {

struct Shape {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t rank = 0;
};

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
    const std::string& factor = spec.get_string("factor");
    if (factor != "own" && factor != "shared") {
      throw ConfigError("compressor 'lowrank': factor must be own (each client its own warm start) or shared (one "
                        "factor for all clients, summable), got '" + factor + "'");
    }
    shared_ = factor == "shared";
  }

  LowRankSettings settings() const { return {.rank = rank_, .rows = rows_, .shared = shared_}; }

  std::string spec() const override {
    return "lowrank:r=" + std::to_string(rank_) + ",rows=" + std::to_string(rows_) +
           ",factor=" + (shared_ ? "shared" : "own");
  }

  bool summable() const override { return shared_; }

  std::unique_ptr<SharedFactor> make_shared_factor(std::size_t dim, Rng& rng) const override {
    if (!shared_) return nullptr;
    check_dimension(static_cast<Eigen::Index>(dim), "lowrank");
    const Shape s = shape(dim);
    return std::make_unique<SharedFactor>(static_cast<std::uint32_t>(dim), static_cast<std::uint32_t>(s.rows),
                                          static_cast<std::uint32_t>(s.rank), rng);
  }

  CompressorTraits traits(std::size_t dim) const override {
    const Shape s = shape(dim);
    return {.kind = CompressorClass::biased,
            .alpha = 0.0,
            .omega = 0.0,
            .positively_homogeneous = true,
            .deterministic = false,
            .bits = 32.0 * static_cast<double>(s.rank * (s.rows + s.cols)),
            .index_bits = 0.0,
            .capped = s.rank < rank_ ? "lowrank:r=" + std::to_string(rank_) + " exceeds the " + std::to_string(s.rows) +
                                           " x " + std::to_string(s.cols) + " matrix of d = " + std::to_string(dim) +
                                           " (r is capped at " + std::to_string(s.rank) + ")"
                                     : std::string()};
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
    if (shared_) {
      project_on_shared(X, d, s, ws.shared_factor, out);
      return;
    }

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
  // out = [P, A = X^T P, S = X Q] against the shared factor (shared_lowrank layout).
  static void project_on_shared(const Eigen::Map<const Eigen::MatrixXd>& X, std::size_t d, const Shape& s,
                                const SharedFactor* factor, Message& out) {
    if (factor == nullptr || factor->dim() != d || factor->rows() != s.rows || factor->rank() != s.rank) {
      throw ConfigError("compressor 'lowrank:factor=shared' needs the run's shared factor for dimension " +
                        std::to_string(d) + " (CompressorWorkspace::shared_factor, set by the runtime)");
    }
    const auto m = static_cast<Eigen::Index>(s.rows);
    const auto n = static_cast<Eigen::Index>(s.cols);
    const auto r = static_cast<Eigen::Index>(s.rank);
    out.set_shared_lowrank(static_cast<std::uint32_t>(d), static_cast<std::uint32_t>(s.rows),
                           static_cast<std::uint32_t>(s.rank), factor->version());
    const auto P = factor->p();
    const auto Q = factor->q();
    std::copy(P.data(), P.data() + m * r, out.values.begin());
    Eigen::Map<Eigen::MatrixXd> A(out.values.data() + m * r, n, r);
    Eigen::Map<Eigen::MatrixXd> S(out.values.data() + m * r + n * r, m, r);
    S.setZero();
    for (Eigen::Index c = 0; c < r; ++c) {
      for (Eigen::Index j = 0; j < n; ++j) {
        A(j, c) = X.col(j).dot(P.col(c));  // A = X^T P
        S.col(c) += Q(j, c) * X.col(j);    // S = X Q
      }
    }
  }

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
  bool shared_ = false;
};

}  // namespace

std::unique_ptr<Compressor> make_lowrank(const Spec& spec) { return std::make_unique<LowRank>(spec); }

std::optional<LowRankSettings> lowrank_settings(const Compressor& compressor) {
  const auto* lowrank = dynamic_cast<const LowRank*>(&compressor);
  if (lowrank == nullptr) return std::nullopt;
  return lowrank->settings();
}

}  // namespace ecco::detail
