// KeptCount ("k=" of topk and randk), index_bits_for, and QuantisedCompressor::compress.
#include <algorithm>
#include <bit>
#include <cmath>

#include "compressors/builtin.hpp"
#include "compressors/compressor_input.hpp"
#include "ecco/error.hpp"

namespace ecco::detail {

KeptCount::KeptCount(const Spec& spec, const char* key) : text_(spec.get_string(key)), value_(spec.get_double(key)) {
  if (!(value_ > 0.0)) {
    throw ConfigError("compressor '" + spec.name() + "': " + key + " must be a count >= 1 or a fraction in (0, 1), got '" +
                      text_ + "'");
  }
  if (value_ >= 1.0 && (value_ != std::floor(value_) || value_ > 4294967295.0)) {
    throw ConfigError("compressor '" + spec.name() + "': " + key +
                      " >= 1 is a count and must be a whole number below 2^32, got '" + text_ + "'");
  }
}

std::size_t KeptCount::count_for(std::size_t dim) const {
  std::size_t k = 0;
  if (value_ >= 1.0) {
    k = static_cast<std::size_t>(value_);
  } else {
    k = static_cast<std::size_t>(std::llround(value_ * static_cast<double>(dim)));
    k = std::max<std::size_t>(k, 1);
  }
  return std::min(k, dim);
}

std::string KeptCount::capped_note(const std::string& name, std::size_t dim) const {
  if (!(value_ >= 1.0) || value_ <= static_cast<double>(dim)) return "";
  return name + ":k=" + text_ + " keeps every coordinate of d = " + std::to_string(dim) + " (k is capped at d)";
}

double index_bits_for(std::size_t dim) { return dim <= 1 ? 0.0 : static_cast<double>(std::bit_width(dim - 1)); }

void QuantisedCompressor::compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& rng, CompressorWorkspace& /*workspace*/,
                                   Message& out) const {
  check_compressor_input(x, name_.c_str());
  out.prepare_dense(static_cast<std::uint32_t>(x.size()));  // no copy: quantise reads x
  quantiser_->quantise(x.data(), rng, out);
}

}  // namespace ecco::detail
