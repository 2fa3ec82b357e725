#include "problems/network.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

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
template <class Lhs, class Rhs>
void tiled_product(const Lhs& lhs, const Rhs& rhs, Eigen::Ref<Eigen::MatrixXd> out, bool accumulate) {
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
void grow(Eigen::MatrixXd& scratch, Eigen::Index rows, Eigen::Index cols) {
  if (scratch.rows() != rows || scratch.cols() < cols) scratch.resize(rows, cols);
}

}  // namespace

std::size_t network_dim(std::span<const std::size_t> widths) {
  std::size_t total = 0;
  for (std::size_t l = 1; l < widths.size(); ++l) total += widths[l] * (widths[l - 1] + 1);
  return total;
}

DenseNetwork::DenseNetwork(DenseShard data, std::vector<std::size_t> widths, Activation activation, double lambda)
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

void DenseNetwork::check_size(Eigen::Index size, const char* what) const {
  if (static_cast<std::size_t>(size) != dim_) {
    throw std::invalid_argument(std::string("DenseNetwork: ") + what + " has size " + std::to_string(size) +
                                ", the model " + std::to_string(dim_));
  }
}

double DenseNetwork::regulariser(Eigen::Ref<const Eigen::VectorXd> x) const {
  return lambda_ == 0.0 ? 0.0 : 0.5 * lambda_ * x.squaredNorm();
}

double DenseNetwork::chunk(const double* x, Eigen::Ref<const Eigen::MatrixXd> a, double scale, double* grad,
                           std::size_t* correct) const {
  const Eigen::Index m = a.cols();
  const std::size_t last = layers_.size() - 1;

  // Forward: outputs_[l] = act(W_l h + b_l), the logits for the last layer.
  for (std::size_t l = 0; l <= last; ++l) {
    const Layer& layer = layers_[l];
    const Eigen::Map<const Eigen::MatrixXd> w(x + layer.weight, layer.out, layer.in);
    const Eigen::Map<const Eigen::VectorXd> b(x + layer.bias, layer.out);
    auto h = outputs_[l].leftCols(m);
    if (l == 0) {
      tiled_product(w, a, h, false);
    } else {
      tiled_product(w, outputs_[l - 1].leftCols(m), h, false);
    }
    h.colwise() += b;
    if (l < last) {
      if (activation_ == Activation::relu) {
        h = h.cwiseMax(0.0);
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
    double top = logits(0, j);
    Eigen::Index best = 0;
    for (Eigen::Index c = 1; c < classes; ++c) {
      if (logits(c, j) > top) {
        top = logits(c, j);
        best = c;
      }
    }
    double total = 0.0;
    for (Eigen::Index c = 0; c < classes; ++c) total += std::exp(logits(c, j) - top);
    sum += (top - logits(y, j)) + std::log(total);
    if (correct != nullptr && best == y) ++*correct;
    if (grad != nullptr) {
      auto delta = deltas_[last].col(j);
      const double factor = scale / total;
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
    Eigen::Map<Eigen::MatrixXd> gw(grad + layer.weight, layer.out, layer.in);
    Eigen::Map<Eigen::VectorXd> gb(grad + layer.bias, layer.out);
    if (l == 0) {
      tiled_product(delta, a.transpose(), gw, true);
    } else {
      tiled_product(delta, outputs_[l - 1].leftCols(m).transpose(), gw, true);
    }
    gb += delta.rowwise().sum();
    if (l == 0) break;
    const Eigen::Map<const Eigen::MatrixXd> w(x + layer.weight, layer.out, layer.in);
    auto below = deltas_[l - 1].leftCols(m);
    tiled_product(w.transpose(), delta, below, false);
    const auto h = outputs_[l - 1].leftCols(m).array();
    if (activation_ == Activation::relu) {
      below.array() *= (h > 0.0).cast<double>();
    } else {
      below.array() *= 1.0 - h.square();
    }
  }
  return sum;
}

double DenseNetwork::pass(const double* x, const std::span<const std::uint32_t>* batch, double scale, double* grad,
                          std::size_t* correct) const {
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

double DenseNetwork::loss(Eigen::Ref<const Eigen::VectorXd> x) const {
  check_size(x.size(), "x");
  const double sum = pass(x.data(), nullptr, 0.0, nullptr, nullptr);
  return sum / static_cast<double>(rows()) + regulariser(x);
}

double DenseNetwork::loss_and_gradient(Eigen::Ref<const Eigen::VectorXd> x, Eigen::Ref<Eigen::VectorXd> grad) const {
  check_size(x.size(), "x");
  check_size(grad.size(), "grad");
  grad.setZero();
  const auto n = static_cast<double>(rows());
  const double sum = pass(x.data(), nullptr, 1.0 / n, grad.data(), nullptr);
  if (lambda_ != 0.0) grad += lambda_ * x;
  return sum / n + regulariser(x);
}

double DenseNetwork::batch_gradient(Eigen::Ref<const Eigen::VectorXd> x, std::span<const std::uint32_t> batch,
                                    Eigen::Ref<Eigen::VectorXd> grad) const {
  check_size(x.size(), "x");
  check_size(grad.size(), "grad");
  if (batch.empty()) throw std::invalid_argument("DenseNetwork: empty minibatch");
  grad.setZero();
  const auto size = static_cast<double>(batch.size());
  const double sum = pass(x.data(), &batch, 1.0 / size, grad.data(), nullptr);
  if (lambda_ != 0.0) grad += lambda_ * x;
  return sum / size + regulariser(x);
}

std::optional<std::size_t> DenseNetwork::correct(Eigen::Ref<const Eigen::VectorXd> x) const {
  check_size(x.size(), "x");
  std::size_t right = 0;
  pass(x.data(), nullptr, 0.0, nullptr, &right);
  return right;
}

}  // namespace ecco::detail
