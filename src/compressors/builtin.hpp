#pragma once
// Factories of the built-in compressors, one per source file, tied together by the
// registry table in registry.cpp (private to src/compressors).
#include <memory>

#include "ecco/compressor.hpp"
#include "ecco/spec.hpp"

namespace ecco::detail {

std::unique_ptr<Compressor> make_identity(const Spec& spec);
std::unique_ptr<Compressor> make_topk(const Spec& spec);

}  // namespace ecco::detail
