#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/rng.hpp"

namespace ecco {
namespace {

const std::vector<SpecEntry>& table() {
  static const std::vector<SpecEntry> entries = {
      {"contiguous", {}, "rows in file order, blocks of floor(N/n), remainder to the last client (the papers')"},
      {"shuffle", {{"seed", "1", "seed of the row permutation"}}, "rows in a seeded random order, then blocks"},
      {"label_sorted", {}, "rows sorted by label (stable), then blocks: non-iid clients"},
      {"one_per_client", {}, "one row per client (--clients must equal the number of rows)"},
      {"by_smoothness", {}, "rows sorted by ||a_j||^2 (their own smoothness), then blocks: uneven L_i"},
  };
  return entries;
}

}  // namespace

std::span<const SpecEntry> split_table() { return table(); }

Dataset ClientSplit::shard(const Dataset& data, std::size_t client) const {
  const RowRange r = ranges.at(client);
  return data.select(std::span(order).subspan(r.begin, r.size()));
}

ClientSplit make_split(const Dataset& data, std::size_t clients, std::string_view spec_text) {
  const Spec spec = resolve_spec("split", spec_text, table());
  const std::size_t n_rows = data.rows();
  ClientSplit split;
  split.order.resize(n_rows);
  std::iota(split.order.begin(), split.order.end(), 0U);
  const std::string& name = spec.name();
  if (name == "shuffle") {
    Rng rng(derive_seed(spec.get_seed("seed"), kNoClient, SeedPurpose::data_split));
    for (std::size_t i = n_rows; i > 1; --i) std::swap(split.order[i - 1], split.order[rng.uniform_index(i)]);
  } else if (name == "label_sorted") {
    std::stable_sort(split.order.begin(), split.order.end(), [&](std::uint32_t a, std::uint32_t b) {
      return data.labels[static_cast<Eigen::Index>(a)] < data.labels[static_cast<Eigen::Index>(b)];
    });
  } else if (name == "by_smoothness") {
    std::vector<double> norm_sq(n_rows);
    for (std::size_t r = 0; r < n_rows; ++r) norm_sq[r] = data.features.row(static_cast<Eigen::Index>(r)).squaredNorm();
    std::stable_sort(split.order.begin(), split.order.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return norm_sq[a] < norm_sq[b]; });
  } else if (name == "one_per_client" && clients != n_rows) {
    throw ConfigError("--split one_per_client needs --clients equal to the " + std::to_string(n_rows) +
                      " data rows, got " + std::to_string(clients));
  }
  split.ranges = split_contiguous(n_rows, clients);
  return split;
}

}  // namespace ecco
