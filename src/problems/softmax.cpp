// softmax:lambda=L — multinomial logistic regression on the C >= 2 classes of the
// training labels (problems/classes.hpp), a network without hidden layer
// (problems/network.hpp):
//   f_i(x) = (1/N_i) sum_j CE(softmax(W a_j + b), y_j) + (lambda/2) ||x||^2
// x = W (C x d_in, column-major), then b (C). Convex. No own starting point: --x0 decides.
//   L_i = (lambda_max(A_i^T A_i) + N_i) / (2 N_i) + lambda
// The Hessian of CE in the logits is diag(p) - p p^T, of norm at most 1/2; the logits are
// (a~_j^T (x) I_C) x with a~_j = [a_j; 1], so the data term's Hessian is at most
// (1 / (2 N_i)) (A~^T A~) (x) I_C, and ||A~^T A~|| = ||[A 1]||^2 <= ||A||^2 + N_i.
// Cost of a gradient: about 6 C d_in flops per row.
#include "ecco/error.hpp"
#include "problems/builtin.hpp"
#include "problems/classes.hpp"
#include "problems/network.hpp"

namespace ecco::detail {
namespace {

template <class Scalar>
class Softmax final : public DenseNetwork<Scalar> {
 public:
  // Activation: unused (no hidden layer).
  Softmax(DenseShard<Scalar> shard, std::size_t input_dim, std::size_t classes, double lambda)
      : DenseNetwork<Scalar>(std::move(shard), {input_dim, classes}, Activation::relu, lambda) {}

  // From the dense shard: a sparse fp64 copy of it for max_eigenvalue_gram (rarely called).
  double smoothness() const override {
    const SparseRows a = this->data().features.template cast<double>().transpose().sparseView();
    return softmax_smoothness(a, this->lambda());
  }
};

class SoftmaxFactory final : public ProblemFactory {
 public:
  SoftmaxFactory(double lambda, std::string lambda_text)
      : lambda_(lambda), lambda_text_(std::move(lambda_text)), classes_("softmax") {}

  std::string spec() const override { return "softmax:lambda=" + lambda_text_; }

  ComputePrecision preferred_precision() const override { return ComputePrecision::fp32; }
  void set_precision(ComputePrecision precision) override { precision_ = precision; }

  void prepare(const Dataset& train) override { classes_.prepare(train); }

  std::unique_ptr<Problem> make(Dataset shard) const override {
    if (precision_ == ComputePrecision::fp32) {
      return std::make_unique<Softmax<float>>(classes_.make<float>(shard), classes_.input_dim(), classes_.classes(),
                                              lambda_);
    }
    return std::make_unique<Softmax<double>>(classes_.make<double>(shard), classes_.input_dim(), classes_.classes(),
                                             lambda_);
  }

  TensorLayout tensors(const Dataset& /*train*/) const override {
    const std::size_t c = classes_.classes();
    const std::size_t d = classes_.input_dim();
    return {TensorShape{"weight", 0, c, d}, TensorShape{"bias", c * d, c, 1}};
  }

  bool cheap_full_gradient() const override { return false; }

  double smoothness_of(const Dataset& rows) const override { return softmax_smoothness(rows.features, lambda_); }

 private:
  double lambda_;
  std::string lambda_text_;
  ClassMap classes_;
  ComputePrecision precision_ = ComputePrecision::fp64;
};

}  // namespace

double softmax_smoothness(const SparseRows& a, double lambda) {
  const auto n = static_cast<double>(a.rows());
  return (max_eigenvalue_gram(a) + n) / (2.0 * n) + lambda;
}

std::unique_ptr<ProblemFactory> make_softmax(const Spec& spec) {
  const double lambda = spec.get_double("lambda");
  if (!(lambda >= 0.0 && lambda <= 1e300)) {
    throw ConfigError("problem 'softmax': lambda must be in [0, 1e300], got " + spec.get_string("lambda"));
  }
  return std::make_unique<SoftmaxFactory>(lambda, spec.get_string("lambda"));
}

}  // namespace ecco::detail
