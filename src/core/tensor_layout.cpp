#include "ecco/tensor_layout.hpp"

#include <stdexcept>

namespace ecco {

TensorLayout single_tensor(std::size_t dim) { return {TensorShape{"x", 0, dim, 1}}; }

std::size_t layout_dim(const TensorLayout& layout) {
  std::size_t total = 0;
  for (const TensorShape& t : layout) total += t.size();
  return total;
}

void check_layout(const TensorLayout& layout, std::size_t dim) {
  if (layout.empty()) throw std::invalid_argument("tensor layout: no tensors");
  std::size_t at = 0;
  for (const TensorShape& t : layout) {
    if (t.size() == 0) throw std::invalid_argument("tensor layout: tensor '" + t.name + "' is empty");
    if (t.offset != at) {
      throw std::invalid_argument("tensor layout: tensor '" + t.name + "' starts at " + std::to_string(t.offset) +
                                  ", expected " + std::to_string(at));
    }
    at += t.size();
  }
  if (at != dim) {
    throw std::invalid_argument("tensor layout covers " + std::to_string(at) + " coordinates, the model has " +
                                std::to_string(dim));
  }
}

}  // namespace ecco
