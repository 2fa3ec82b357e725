#pragma once
// --adaptive lgreco:every=N,levels=auto|V1/V2/...,budget=B,buckets=K: L-GreCo's per-tensor
// levels (level_choice.hpp, levelled_compressor.hpp), resolved against the --compressor spec.
//
// The compressor is one of topk, randk (level key k), lowrank (r), qsgd or natural_dithering
// (s); its own value of that key is the uniform setting. The candidate levels are that
// compressor with the key set to each value of `levels`: auto = the uniform value times 1/8,
// 1/4, 1/2, 1, 2, 4 and 8 (fractions of k capped below 1; counts, r and s rounded to whole
// numbers >= 1, and s <= 1000 for natural_dithering), or the values given, separated by '/';
// the uniform value is always a candidate. Levels are sorted by value, duplicates dropped.
//
// Every `every` rounds (after the aggregation of round t, t = every, 2 every, ... < the last
// round) the run measures each tensor's error at each level on every client's compressor
// inputs summed since the previous decision, sums them over the clients in client order, and
// the server chooses: with budget = 0 the fewest bytes per message whose total error is at
// most the uniform setting's (L-GreCo's form); with budget = B > 0 the least error within B
// bytes per message. Every process switches to the chosen levels from round t + 1 on.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ecco/spec.hpp"

namespace ecco {

struct AdaptiveLevels {
  std::string spec;     // canonical, e.g. "lgreco:budget=0,buckets=4096,every=100,levels=auto"
  std::int64_t every = 100;
  std::uint64_t budget = 0;  // bytes per client message; 0: error-constrained
  std::size_t buckets = 4096;
  std::vector<std::string> level_specs;  // the candidate compressors, by increasing value
  std::vector<std::string> level_values;  // the level key's value of each, e.g. "0.01" (the
                                          // shortest text that reads back as the value)
  std::string level_key;                  // "k", "r" or "s"
  std::uint32_t uniform_level = 0;        // the --compressor's own level
};

// ConfigError for an unknown adaptive name or key, a value out of range (every >= 1,
// buckets in [1, 2^20], levels that the compressor refuses), or a compressor without levels.
AdaptiveLevels parse_adaptive_levels(std::string_view adaptive_spec, std::string_view compressor_spec);

std::span<const SpecEntry> adaptive_table();

}  // namespace ecco
