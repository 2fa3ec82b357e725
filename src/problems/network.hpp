#pragma once
// Fully connected classifier networks with a softmax cross-entropy output: the engine of
// the softmax problem (no hidden layer) and of mlp. Private to src/problems.
//
// Layer l = 1..L maps widths[l-1] -> widths[l], with widths[0] = d_in and widths[L] = C:
//   h_0 = a_j,  z_l = W_l h_{l-1} + b_l,  h_l = act(z_l) for l < L,  logits z_L
//   l_j(x) = log sum_c exp(z_L,c) - z_L,y_j          (cross-entropy of softmax(z_L))
//   f_i(x) = (1/N_i) sum_j l_j(x) + (lambda/2) ||x||^2
// x holds, layer after layer, W_l (widths[l] x widths[l-1], column-major) then b_l.
//
// Arithmetic: Scalar = double, or float (--precision fp32). The interface stays fp64: with
// float, x is rounded to float once per call, the products, activations, log-sum-exp and
// deltas run in float, the per-row losses are summed in double, and the float gradient is
// widened to double; the regulariser (lambda/2)||x||^2 and its gradient are computed in
// double from the fp64 x.
//
// Samples are processed in chunks of at most kChunkColumns rows that are the columns of
// the activation matrices, so each layer is one matrix product per chunk. Cost per row:
// about 2 P flops for a loss, 6 P for a gradient, P = sum_l widths[l-1] widths[l]. Memory:
// the dense shard (sizeof(Scalar) d_in N_i bytes), plus scratch matrices of widths x (widest
// chunk seen) Scalars that are grown once and then reused (and, with float, a float copy of
// x and of the gradient): in the steady state no call allocates.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "ecco/problem.hpp"
#include "problems/classes.hpp"

namespace ecco::detail {

// Activation of the hidden layers. relu'(0) is taken as 0.
enum class Activation { relu, tanh };

// Rows per chunk of a pass over the whole shard (loss, full gradient, correct) or over a
// large minibatch: bounds the scratch memory whatever N_i and the batch size.
inline constexpr std::size_t kChunkColumns = 256;

// Model dimension: sum over the layers of widths[l] (widths[l-1] + 1).
std::size_t network_dim(std::span<const std::size_t> widths);

// Forward + backward flops of one row's gradient (6 P, P as above), for benchmarks.
double network_gradient_flops_per_row(std::span<const std::size_t> widths);

template <class Scalar>
class DenseNetwork : public Problem {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

  // widths: d_in (= data.features.rows()), the hidden widths, C; at least two entries.
  // Class indices of `data` must be < C.
  DenseNetwork(DenseShard<Scalar> data, std::vector<std::size_t> widths, Activation activation, double lambda);

  std::size_t dim() const override { return dim_; }
  std::size_t rows() const override { return data_.rows(); }
  double loss(Eigen::Ref<const Eigen::VectorXd> x) const override;
  double loss_and_gradient(Eigen::Ref<const Eigen::VectorXd> x, Eigen::Ref<Eigen::VectorXd> grad) const override;
  // std::invalid_argument for an empty batch, std::out_of_range for a row >= rows().
  double batch_gradient(Eigen::Ref<const Eigen::VectorXd> x, std::span<const std::uint32_t> batch,
                        Eigen::Ref<Eigen::VectorXd> grad) const override;
  // Rows whose largest logit (the smaller class index on ties) is their class.
  bool classifies() const override { return true; }
  std::optional<std::size_t> correct(Eigen::Ref<const Eigen::VectorXd> x) const override;

 protected:
  const DenseShard<Scalar>& data() const { return data_; }
  double lambda() const { return lambda_; }

 private:
  struct Layer {
    Eigen::Index in = 0;
    Eigen::Index out = 0;
    std::size_t weight = 0;  // offset of W_l in x
    std::size_t bias = 0;    // offset of b_l in x
  };

  // Sum of l_j over the rows (all rows when `batch` is null). When grad is not null, adds
  // scale * sum_j grad l_j to it; when correct is not null, adds the rows classified right.
  double pass(const Scalar* x, const std::span<const std::uint32_t>* batch, Scalar scale, Scalar* grad,
              std::size_t* correct) const;
  // The same on one chunk: the m = a.cols() samples in the columns of `a`, of classes
  // chunk_classes_[0, m).
  double chunk(const Scalar* x, Eigen::Ref<const Matrix> a, Scalar scale, Scalar* grad, std::size_t* correct) const;
  // x in the network's arithmetic: x itself for double, else its float copy.
  const Scalar* model(const Eigen::Ref<const Eigen::VectorXd>& x) const;
  // Runs pass() with a zeroed gradient buffer (grad itself for double, else a float one
  // widened into grad afterwards) and returns the sum of the row losses.
  double gradient_pass(const Eigen::Ref<const Eigen::VectorXd>& x, const std::span<const std::uint32_t>* batch,
                       double scale, Eigen::Ref<Eigen::VectorXd> grad) const;
  void check_size(Eigen::Index size, const char* what) const;
  double regulariser(Eigen::Ref<const Eigen::VectorXd> x) const;

  DenseShard<Scalar> data_;
  std::vector<Layer> layers_;
  Activation activation_;
  double lambda_;
  std::size_t dim_ = 0;
  // Scratch, grown to the widest chunk seen. outputs_[l]: h_{l+1} (the logits for the
  // last layer); deltas_[l]: scale * d loss / d z_{l+1}; input_: gathered minibatch rows.
  mutable std::vector<Matrix> outputs_;
  mutable std::vector<Matrix> deltas_;
  mutable Matrix input_;
  mutable std::vector<std::uint32_t> chunk_classes_;
  // float only: x and the gradient in float (empty for double).
  mutable Vector model_;
  mutable Vector gradient_;
};

extern template class DenseNetwork<double>;
extern template class DenseNetwork<float>;

}  // namespace ecco::detail
