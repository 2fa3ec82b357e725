// --adaptive lgreco: the candidate levels of adaptive_levels.hpp.
#include "ecco/adaptive_levels.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "ecco/compressor.hpp"
#include "ecco/error.hpp"

namespace ecco {
namespace {

const std::vector<SpecEntry>& table() {
  static const std::vector<SpecEntry> entries = {
      {"lgreco",
       {{"every", "100", "rounds between two choices of levels, >= 1"},
        {"levels", "auto", "auto (the compressor's value x 1/8 .. 8) or values separated by '/', e.g. 1/2/4/8"},
        {"budget", "0", "0: fewest bytes within the uniform setting's error; B > 0: least error within B bytes per message"},
        {"buckets", "4096", "byte units of the dynamic program, in [1, 2^20] (more: finer, slower)"}},
       "L-GreCo: per-tensor compression levels chosen by dynamic programming (needs --granularity tensor)"},
  };
  return entries;
}

// The key that sets a compressor's level.
const char* level_key_of(const std::string& name) {
  if (name == "topk" || name == "randk") return "k";
  if (name == "lowrank") return "r";
  if (name == "qsgd" || name == "natural_dithering") return "s";
  return nullptr;
}

// The shortest decimal text that reads back as v (whole numbers without a point), so that
// ".01", "1e-2" and "0.01" name the same level and the summary's JSON numbers are valid.
std::string format_value(double v) {
  char text[40];
  if (v == std::floor(v) && v < 1e15) {
    std::snprintf(text, sizeof text, "%.0f", v);
    return text;
  }
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, v);
    if (std::strtod(text, nullptr) == v) break;
  }
  return text;
}

double parse_value(const std::string& text, const std::string& where) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v <= 0.0) {
    throw ConfigError(where + ": '" + text + "' is not a number > 0");
  }
  return v;
}

}  // namespace

std::span<const SpecEntry> adaptive_table() { return table(); }

AdaptiveLevels parse_adaptive_levels(std::string_view adaptive_spec, std::string_view compressor_spec) {
  const Spec spec = resolve_spec("adaptive", adaptive_spec, table());
  AdaptiveLevels out;
  out.spec = spec.to_string();
  out.every = spec.get_int("every");
  if (out.every < 1) throw ConfigError("adaptive 'lgreco': every must be >= 1, got '" + spec.get_string("every") + "'");
  const std::int64_t buckets = spec.get_int("buckets");
  if (buckets < 1 || buckets > (1 << 20)) {
    throw ConfigError("adaptive 'lgreco': buckets must be in [1, 2^20], got '" + spec.get_string("buckets") + "'");
  }
  out.buckets = static_cast<std::size_t>(buckets);
  const std::int64_t budget = spec.get_int("budget");
  if (budget < 0) throw ConfigError("adaptive 'lgreco': budget must be >= 0 bytes, got '" + spec.get_string("budget") + "'");
  out.budget = static_cast<std::uint64_t>(budget);

  if (compressor_spec.find_first_of("+(") != std::string_view::npos) {
    throw ConfigError("--adaptive lgreco: compressor '" + std::string(compressor_spec) +
                      "' is a composition; lgreco adapts one compressor (topk, randk, lowrank, qsgd, natural_dithering)");
  }
  const ParsedSpec compressor = parse_spec("compressor", compressor_spec);
  const char* key = level_key_of(compressor.name);
  if (key == nullptr) {
    throw ConfigError("--adaptive lgreco: compressor '" + std::string(compressor_spec) +
                      "' has no level to adapt; use topk, randk (k), lowrank (r), qsgd or natural_dithering (s)");
  }
  out.level_key = key;
  const Spec resolved = resolve_spec("compressor", compressor_spec, compressor_table());
  const double uniform =
      parse_value(resolved.get_string(key), "--compressor " + std::string(compressor_spec) + ", " + key);
  // k < 1 is a fraction of each tensor; k >= 1, r and s are whole numbers.
  const bool whole = !(out.level_key == "k" && uniform < 1.0);

  std::vector<std::pair<double, std::string>> values{{uniform, format_value(uniform)}};
  const std::string& levels = spec.get_string("levels");
  if (levels == "auto") {
    for (const double m : {0.125, 0.25, 0.5, 2.0, 4.0, 8.0}) {
      double v = uniform * m;
      if (whole) v = std::max(1.0, std::round(v));
      if (!whole && v >= 1.0) continue;
      if (compressor.name == "natural_dithering" && v > 1000.0) continue;
      values.emplace_back(v, format_value(v));
    }
  } else {
    std::size_t begin = 0;
    while (begin <= levels.size()) {
      const std::size_t end = std::min(levels.find('/', begin), levels.size());
      const double v = parse_value(levels.substr(begin, end - begin), "adaptive 'lgreco': levels");
      values.emplace_back(v, format_value(v));
      begin = end + 1;
    }
  }
  std::stable_sort(values.begin(), values.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0 && values[i].first == values[i - 1].first) continue;
    std::string text = compressor.name + ":";
    bool replaced = false;
    for (const auto& [k, v] : compressor.pairs) {
      text += (text.back() == ':' ? "" : ",") + k + "=" + (k == key ? values[i].second : v);
      replaced |= k == key;
    }
    if (!replaced) text += (text.back() == ':' ? "" : ",") + std::string(key) + "=" + values[i].second;
    try {
      (void)make_compressor(text);
    } catch (const ConfigError& e) {
      throw ConfigError("--adaptive lgreco: level " + values[i].second + ": " + e.what());
    }
    if (values[i].first == uniform) out.uniform_level = static_cast<std::uint32_t>(out.level_specs.size());
    out.level_specs.push_back(text);
    out.level_values.push_back(values[i].second);
  }
  return out;
}

}  // namespace ecco
