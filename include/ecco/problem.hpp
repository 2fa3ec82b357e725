#pragma once
// Problems: the local objective f_i of one client on its own data shard.
//
// The distributed objective is f(x) = (1/n) sum_i f_i(x). Every problem here is a mean of
// per-row losses plus a regulariser, f_i(x) = (1/N_i) sum_j l_j(x) + r(x), so minibatch
// gradients are defined. Problems never see MPI and are not thread-safe (scratch buffers).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <Eigen/Core>

#include "ecco/dataset.hpp"
#include "ecco/spec.hpp"
#include "ecco/tensor_layout.hpp"

namespace ecco {

// Arithmetic of a problem's loss and gradient code (--precision). Whatever it is, the
// problem's interface (x, gradients, losses) stays fp64.
enum class ComputePrecision { fp64, fp32 };
std::string_view to_string(ComputePrecision precision);
// "fp32" or "fp64"; ConfigError naming the text and the allowed values otherwise.
ComputePrecision parse_compute_precision(std::string_view text);

class Problem {
 public:
  virtual ~Problem() = default;

  virtual std::size_t dim() const = 0;
  // N_i, the number of rows of the shard.
  virtual std::size_t rows() const = 0;
  // f_i(x).
  virtual double loss(Eigen::Ref<const Eigen::VectorXd> x) const = 0;
  // Writes grad f_i(x) into grad (size dim()) and returns f_i(x).
  virtual double loss_and_gradient(Eigen::Ref<const Eigen::VectorXd> x,
                                   Eigen::Ref<Eigen::VectorXd> grad) const = 0;
  // Minibatch gradient: grad of (1/|B|) sum_{j in B} l_j(x) + r(x), B = batch (row numbers
  // of the shard, each < rows(), not empty). With B = all rows it equals the full gradient
  // up to summation order. Returns the minibatch loss (1/|B|) sum_{j in B} l_j(x) + r(x).
  virtual double batch_gradient(Eigen::Ref<const Eigen::VectorXd> x, std::span<const std::uint32_t> batch,
                              Eigen::Ref<Eigen::VectorXd> grad) const = 0;
  // An upper bound L_i on the smoothness constant of f_i, as defined in ALGORITHMS.md 1.13.
  virtual double smoothness() const = 0;
  // Classification problems: rows of the shard that the model x classifies correctly.
  // Others return nullopt (no accuracy metric); classifies() says which, at no cost.
  virtual bool classifies() const { return false; }
  virtual std::optional<std::size_t> correct(Eigen::Ref<const Eigen::VectorXd> /*x*/) const { return std::nullopt; }
};

// Builds problems of one spec ("logistic:lambda=0.1") on given data.
class ProblemFactory {
 public:
  virtual ~ProblemFactory() = default;
  virtual std::string spec() const = 0;
  // What --precision auto picks: fp32 for the networks (softmax, mlp), as deep-learning
  // frameworks do, fp64 for the papers' problems (logistic, least squares).
  virtual ComputePrecision preferred_precision() const { return ComputePrecision::fp64; }
  // The arithmetic of the problems make() builds from now on (fp64 until called). The
  // default accepts fp64 only: ConfigError for fp32, naming the problems that have it.
  virtual void set_precision(ComputePrecision precision);
  // Called once with the whole training set, before make(), tensors() and initial_point():
  // DataError if the data does not suit the problem; problems whose shape depends on the
  // data (classes, input dimension) remember it here.
  virtual void prepare(const Dataset& /*train*/) {}
  // A problem on the given rows (a client's shard, or a slice of a test set: DataError if
  // their labels or dimension do not fit what prepare() saw).
  virtual std::unique_ptr<Problem> make(Dataset shard) const = 0;
  // The named tensors of x (after prepare); their sizes add up to the model dimension.
  // Default: one vector of the data's dimension.
  virtual TensorLayout tensors(const Dataset& train) const { return single_tensor(train.dim()); }
  // Writes the problem's own starting point into x (size: the model dimension) and returns
  // true, or returns false when it has none (then --x0 decides). Deterministic.
  virtual bool initial_point(Eigen::Ref<Eigen::VectorXd> /*x*/) const { return false; }
  // False for models whose full gradient over the training set is too costly to evaluate
  // at every logged round (softmax, mlp): runs then log minibatch losses by default.
  virtual bool cheap_full_gradient() const { return true; }
  // Smoothness of the problem on the given rows (the global L of the papers on all data,
  // L_i on a client's shard).
  virtual double smoothness_of(const Dataset& rows) const = 0;
  // PL constant mu of f = (1/n) sum_i f_i for these client shards, or 0 when the problem
  // does not provide one.
  virtual double pl_constant(std::span<const Dataset> /*shards*/) const { return 0.0; }
};

std::unique_ptr<ProblemFactory> make_problem_factory(std::string_view spec_text);
std::span<const SpecEntry> problem_table();

// lambda_max(A^T A) of a sparse N x d matrix: a dense symmetric eigen-solver on the smaller
// Gram matrix (A^T A or A A^T) when min(N, d) <= dense_limit, otherwise deterministic power
// iteration on A (relative tolerance 1e-12 on the Rayleigh quotient).
double max_eigenvalue_gram(const SparseRows& a, std::size_t dense_limit = 256);

}  // namespace ecco
