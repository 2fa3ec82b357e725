#include "problems/network.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace ecco::detail {
namespace {

// Products are cut into tiles of at most kTile rows, columns and depth. Eigen packs the
// operands of a product into buffers of (depth block) x (row block) and (depth block) x
// (column block) scalars, each no larger than the operands, and takes them from the stack
// up to EIGEN_STACK_ALLOCATION_LIMIT bytes (128 KiB), from the heap beyond: with tiles of
// 128 no product allocates. The tiles are large enough for Eigen's packed kernels (no
// measurable loss against untiled products on 784-512-512-10).
constexpr Eigen::Index kTile = 128;
static_assert(kTile * kTile * static_cast<Eigen::Index>(sizeof(double)) <= EIGEN_STACK_ALLOCATION_LIMIT);

// out = lhs * rhs, or out += lhs * rhs when accumulate.
template <class Lhs, class Rhs, class Out>
void tiled_product(const Lhs& lhs, const Rhs& rhs, Out&& out, bool accumulate) {
  const Eigen::Index m = lhs.rows();
  const Eigen::Index k = lhs.cols();
  const Eigen::Index n = rhs.cols();
  if (!accumulate && k == 0) out.setZero();
  for (Eigen::Index j = 0; j < n; j += kTile) {
    const Eigen::Index nj = std::min(kTile, n - j);
    for (Eigen::Index i = 0; i < m; i += kTile) {
      const Eigen::Index mi = std::min(kTile, m - i);
      for (Eigen::Index p = 0; p < k; p += kTile) {
        const Eigen::Index kp = std::min(kTile, k - p);
        if (p == 0 && !accumulate) {
          out.block(i, j, mi, nj).noalias() = lhs.block(i, p, mi, kp) * rhs.block(p, j, kp, nj);
        } else {
          out.block(i, j, mi, nj).noalias() += lhs.block(i, p, mi, kp) * rhs.block(p, j, kp, nj);
        }
      }
    }
  }
}

// Resizes a scratch matrix only when it has too few columns (or other rows).
template <class Matrix>
void grow(Matrix& scratch, Eigen::Index rows, Eigen::Index cols) {
  if (scratch.rows() != rows || scratch.cols() < cols) scratch.resize(rows, cols);
}

}  // namespace

std::size_t network_dim(std::span<const std::size_t> widths) {
  std::size_t total = 0;
  for (std::size_t l = 1; l < widths.size(); ++l) total += widths[l] * (widths[l - 1] + 1);
  return total;
}

double network_gradient_flops_per_row(std::span<const std::size_t> widths) {
  double products = 0.0;
  for (std::size_t l = 1; l < widths.size(); ++l) products += static_cast<double>(widths[l] * widths[l - 1]);
  return 6.0 * products;
}

template <class Scalar>
DenseNetwork<Scalar>::DenseNetwork(DenseShard<Scalar> data, std::vector<std::size_t> widths, Activation activation,
                                   double lambda)
    : data_(std::move(data)), activation_(activation), lambda_(lambda), dim_(network_dim(widths)) {
  if (widths.size() < 2 || static_cast<Eigen::Index>(widths.front()) != data_.features.rows()) {
    throw std::invalid_argument("DenseNetwork: widths must start with the input dimension and end with the classes");
  }
  std::size_t offset = 0;
  for (std::size_t l = 1; l < widths.size(); ++l) {
    Layer layer;
    layer.in = static_cast<Eigen::Index>(widths[l - 1]);
    layer.out = static_cast<Eigen::Index>(widths[l]);
    layer.weight = offset;
    layer.bias = offset + widths[l] * widths[l - 1];
    offset = layer.bias + widths[l];
    layers_.push_back(layer);
  }
  outputs_.resize(layers_.size());
  deltas_.resize(layers_.size());
}

template <class Scalar>
void DenseNetwork<Scalar>::check_size(Eigen::Index size, const char* what) const {
  if (static_cast<std::size_t>(size) != dim_) {
    throw std::invalid_argument(std::string("DenseNetwork: ") + what + " has size " + std::to_string(size) +
                                ", the model " + std::to_string(dim_));
  }
}

template <class Scalar>
double DenseNetwork<Scalar>::regulariser(Eigen::Ref<const Eigen::VectorXd> x) const {
  return lambda_ == 0.0 ? 0.0 : 0.5 * lambda_ * x.squaredNorm();
}

template <class Scalar>
double DenseNetwork<Scalar>::chunk(const Scalar* x, Eigen::Ref<const Matrix> a, Scalar scale, Scalar* grad,
                                   std::size_t* correct) const {
  const Eigen::Index m = a.cols();
  const std::size_t last = layers_.size() - 1;

  // Forward: outputs_[l] = act(W_l h + b_l), the logits for the last layer.
  for (std::size_t l = 0; l <= last; ++l) {
    const Layer& layer = layers_[l];
    const Eigen::Map<const Matrix> w(x + layer.weight, layer.out, layer.in);
    const Eigen::Map<const Vector> b(x + layer.bias, layer.out);
    auto h = outputs_[l].leftCols(m);
    if (l == 0) {
      tiled_product(w, a, h, false);
    } else {
      tiled_product(w, outputs_[l - 1].leftCols(m), h, false);
    }
    h.colwise() += b;
    if (l < last) {
      if (activation_ == Activation::relu) {
        h = h.cwiseMax(Scalar(0));
      } else {
        h = h.array().tanh().matrix();
      }
    }
  }

  // Loss (log-sum-exp shifted by the largest logit), argmax, and the output delta
  // scale * (softmax(z) - e_y).
  const auto logits = outputs_[last].leftCols(m);
  const Eigen::Index classes = logits.rows();
  double sum = 0.0;
  for (Eigen::Index j = 0; j < m; ++j) {
    const auto y = static_cast<Eigen::Index>(chunk_classes_[static_cast<std::size_t>(j)]);
    Scalar top = logits(0, j);
    Eigen::Index best = 0;
    for (Eigen::Index c = 1; c < classes; ++c) {
      if (logits(c, j) > top) {
        top = logits(c, j);
        best = c;
      }
    }
    Scalar total = 0;
    for (Eigen::Index c = 0; c < classes; ++c) total += std::exp(logits(c, j) - top);
    sum += static_cast<double>((top - logits(y, j)) + std::log(total));
    if (correct != nullptr && best == y) ++*correct;
    if (grad != nullptr) {
      auto delta = deltas_[last].col(j);
      const Scalar factor = scale / total;
      for (Eigen::Index c = 0; c < classes; ++c) delta[c] = factor * std::exp(logits(c, j) - top);
      delta[y] -= scale;
    }
  }
  if (grad == nullptr) return sum;

  // Backward: gradients of W_l and b_l, then the delta of the layer below through W_l^T
  // and act'(z) (relu: 1 where h > 0; tanh: 1 - h^2).
  for (std::size_t l = last + 1; l-- > 0;) {
    const Layer& layer = layers_[l];
    const auto delta = deltas_[l].leftCols(m);
    Eigen::Map<Matrix> gw(grad + layer.weight, layer.out, layer.in);
    Eigen::Map<Vector> gb(grad + layer.bias, layer.out);
    if (l == 0) {
      tiled_product(delta, a.transpose(), gw, true);
    } else {
      tiled_product(delta, outputs_[l - 1].leftCols(m).transpose(), gw, true);
    }
    gb += delta.rowwise().sum();
    if (l == 0) break;
    const Eigen::Map<const Matrix> w(x + layer.weight, layer.out, layer.in);
    auto below = deltas_[l - 1].leftCols(m);
    tiled_product(w.transpose(), delta, below, false);
    const auto h = outputs_[l - 1].leftCols(m).array();
    if (activation_ == Activation::relu) {
      below.array() *= (h > Scalar(0)).template cast<Scalar>();
    } else {
      below.array() *= Scalar(1) - h.square();
    }
  }
  return sum;
}

template <class Scalar>
double DenseNetwork<Scalar>::pass(const Scalar* x, const std::span<const std::uint32_t>* batch, Scalar scale,
                                  Scalar* grad, std::size_t* correct) const {
  const std::size_t total = batch != nullptr ? batch->size() : rows();
  const auto width = static_cast<Eigen::Index>(std::min(kChunkColumns, total));
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    grow(outputs_[l], layers_[l].out, width);
    if (grad != nullptr) grow(deltas_[l], layers_[l].out, width);
  }
  if (chunk_classes_.size() < static_cast<std::size_t>(width)) chunk_classes_.resize(static_cast<std::size_t>(width));
  if (batch != nullptr) grow(input_, data_.features.rows(), width);

  double sum = 0.0;
  for (std::size_t start = 0; start < total; start += kChunkColumns) {
    const std::size_t m = std::min(kChunkColumns, total - start);
    const auto cols = static_cast<Eigen::Index>(m);
    if (batch == nullptr) {
      std::copy_n(data_.classes.begin() + static_cast<std::ptrdiff_t>(start), m, chunk_classes_.begin());
      sum += chunk(x, data_.features.middleCols(static_cast<Eigen::Index>(start), cols), scale, grad, correct);
    } else {
      for (std::size_t k = 0; k < m; ++k) {
        const std::uint32_t row = (*batch)[start + k];
        if (row >= rows()) {
          throw std::out_of_range("DenseNetwork: batch row " + std::to_string(row) + " outside [0, " +
                                  std::to_string(rows()) + ")");
        }
        input_.col(static_cast<Eigen::Index>(k)) = data_.features.col(static_cast<Eigen::Index>(row));
        chunk_classes_[k] = data_.classes[row];
      }
      sum += chunk(x, input_.leftCols(cols), scale, grad, correct);
    }
  }
  return sum;
}

template <class Scalar>
const Scalar* DenseNetwork<Scalar>::model(const Eigen::Ref<const Eigen::VectorXd>& x) const {
  if constexpr (std::is_same_v<Scalar, double>) {
    return x.data();
  } else {
    model_ = x.template cast<Scalar>();
    return model_.data();
  }
}

template <class Scalar>
double DenseNetwork<Scalar>::gradient_pass(const Eigen::Ref<const Eigen::VectorXd>& x,
                                           const std::span<const std::uint32_t>* batch, double scale,
                                           Eigen::Ref<Eigen::VectorXd> grad) const {
  if constexpr (std::is_same_v<Scalar, double>) {
    grad.setZero();
    return pass(x.data(), batch, scale, grad.data(), nullptr);
  } else {
    const Scalar* w = model(x);
    gradient_.setZero(static_cast<Eigen::Index>(dim_));
    const double sum = pass(w, batch, static_cast<Scalar>(scale), gradient_.data(), nullptr);
    grad = gradient_.template cast<double>();
    return sum;
  }
}

template <class Scalar>
double DenseNetwork<Scalar>::loss(Eigen::Ref<const Eigen::VectorXd> x) const {
  check_size(x.size(), "x");
  const double sum = pass(model(x), nullptr, Scalar(0), nullptr, nullptr);
  return sum / static_cast<double>(rows()) + regulariser(x);
}

template <class Scalar>
double DenseNetwork<Scalar>::loss_and_gradient(Eigen::Ref<const Eigen::VectorXd> x,
                                               Eigen::Ref<Eigen::VectorXd> grad) const {
  check_size(x.size(), "x");
  check_size(grad.size(), "grad");
  const auto n = static_cast<double>(rows());
  const double sum = gradient_pass(x, nullptr, 1.0 / n, grad);
  if (lambda_ != 0.0) grad += lambda_ * x;
  return sum / n + regulariser(x);
}

template <class Scalar>
double DenseNetwork<Scalar>::batch_gradient(Eigen::Ref<const Eigen::VectorXd> x, std::span<const std::uint32_t> batch,
                                            Eigen::Ref<Eigen::VectorXd> grad) const {
  check_size(x.size(), "x");
  check_size(grad.size(), "grad");
  if (batch.empty()) throw std::invalid_argument("DenseNetwork: empty minibatch");
  const auto size = static_cast<double>(batch.size());
  const double sum = gradient_pass(x, &batch, 1.0 / size, grad);
  if (lambda_ != 0.0) grad += lambda_ * x;
  return sum / size + regulariser(x);
}

template <class Scalar>
std::optional<std::size_t> DenseNetwork<Scalar>::correct(Eigen::Ref<const Eigen::VectorXd> x) const {
  check_size(x.size(), "x");
  std::size_t right = 0;
  pass(model(x), nullptr, Scalar(0), nullptr, &right);
  return right;
}

template class DenseNetwork<double>;
template class DenseNetwork<float>;

}  // namespace ecco::detail
