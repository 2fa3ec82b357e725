#include "compressors/builtin.hpp"
#include "core/registry.hpp"
#include "ecco/compressor.hpp"

namespace ecco {
namespace {

const detail::Registry<Compressor>& registry() {
  static const detail::Registry<Compressor> table(
      "compressor",
      {
          {{"identity", {}, "no compression: sends the dense vector (alpha = 1)"}, detail::make_identity},
          {{"topk",
            {{"k", "", "count >= 1 (whole number) or fraction of d in (0, 1)"}},
            "keeps the k largest |x_j| (ties: smaller index), alpha = k/d"},
           detail::make_topk},
      });
  return table;
}

}  // namespace

std::span<const SpecEntry> compressor_table() { return registry().entries(); }

std::unique_ptr<Compressor> make_compressor(std::string_view spec_text) { return registry().make(spec_text); }

}  // namespace ecco
