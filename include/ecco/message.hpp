#pragma once
// Message: what one client sends in one round, in decoded form.
//
// A message is a vector of dimension `dim`, stored either densely (values.size() == dim,
// indices empty) or sparsely (strictly increasing indices < dim, one value each). Values
// are doubles; the wire codec (codec.hpp) decides how many bits each value travels with.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

namespace ecco {

enum class Layout : std::uint8_t { dense = 1, sparse = 2 };

struct Message {
  Layout layout = Layout::dense;
  std::uint32_t dim = 0;
  std::vector<std::uint32_t> indices;  // sparse layout only
  std::vector<double> values;

  // Stored entries (dim for dense messages).
  std::size_t count() const { return values.size(); }

  // Reuses the buffers; no allocation once they are large enough.
  void set_dense(Eigen::Ref<const Eigen::VectorXd> x);
  void clear_sparse(std::uint32_t dimension);

  // y += scale * message. y.size() must equal dim.
  void add_to(Eigen::Ref<Eigen::VectorXd> y, double scale = 1.0) const;
  // y = message (all other coordinates zero).
  void assign_to(Eigen::Ref<Eigen::VectorXd> y) const;
};

}  // namespace ecco
