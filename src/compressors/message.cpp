#include "ecco/message.hpp"

#include <cassert>

namespace ecco {

void Message::set_dense(Eigen::Ref<const Eigen::VectorXd> x) {
  layout = Layout::dense;
  dim = static_cast<std::uint32_t>(x.size());
  indices.clear();
  values.assign(x.data(), x.data() + x.size());
}

void Message::clear_sparse(std::uint32_t dimension) {
  layout = Layout::sparse;
  dim = dimension;
  indices.clear();
  values.clear();
}

void Message::add_to(Eigen::Ref<Eigen::VectorXd> y, double scale) const {
  assert(static_cast<std::size_t>(y.size()) == dim);
  if (layout == Layout::dense) {
    for (std::size_t j = 0; j < values.size(); ++j) y[static_cast<Eigen::Index>(j)] += scale * values[j];
  } else {
    for (std::size_t k = 0; k < values.size(); ++k) y[static_cast<Eigen::Index>(indices[k])] += scale * values[k];
  }
}

void Message::assign_to(Eigen::Ref<Eigen::VectorXd> y) const {
  y.setZero();
  add_to(y, 1.0);
}

}  // namespace ecco
