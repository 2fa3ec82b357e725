// The compressor table and the spec grammar on top of it: "A+B" (composition) and
// "contractive(<spec>)" (compressor.hpp).
#include <algorithm>
#include <cctype>
#include <sstream>

#include "compressors/builtin.hpp"
#include "core/registry.hpp"
#include "ecco/compressor.hpp"
#include "ecco/error.hpp"

namespace ecco {
namespace {

const detail::Registry<Compressor>& registry() {
  static const detail::Registry<Compressor> table(
      "compressor",
      {
          {{"identity", {}, "no compression: sends the dense vector (contractive, alpha = 1)"}, detail::make_identity},
          {{"topk",
            {{"k", "", "count >= 1 (whole number) or fraction of d in (0, 1)"}},
            "keeps the k largest |x_j| (ties: smaller index); contractive, alpha = k/d"},
           detail::make_topk},
          {{"randk",
            {{"k", "", "count >= 1 (whole number) or fraction of d in (0, 1)"},
             {"scaled", "false", "true: multiply by d/k (unbiased, omega = d/k - 1); false: contractive, alpha = k/d"},
             {"shared_seed", "false", "true: send the 64-bit seed of the coordinates instead of the indices"},
             {"coords", "client", "client: each client draws its own; common: all clients keep the same ones in a "
                                  "round (summable: --aggregation allreduce; implies shared_seed=true)"}},
            "keeps k coordinates chosen uniformly at random"},
           detail::make_randk},
          {{"bernoulli",
            {{"p", "", "probability in (0, 1] of sending x/p (else nothing)"}},
            "lazy compression: x/p with probability p, else 0; unbiased, omega = 1/p - 1"},
           detail::make_bernoulli},
          {{"natural", {}, "natural compression: random rounding to a power of two; unbiased, omega = 1/8; 9 bits/coord"},
           detail::make_natural},
          {{"qsgd",
            {{"s", "", "number of levels >= 1"}, {"norm", "2", "2 or inf: the norm that scales the levels"}},
            "QSGD / random dithering on s levels; unbiased, omega = min(d/s^2, sqrt(d)/s)"},
           detail::make_qsgd},
          {{"natural_dithering",
            {{"s", "", "number of levels 1/2^(s-1) .. 1, 1 <= s <= 1000"}, {"norm", "2", "2 or inf"}},
            "random dithering on power-of-two levels; unbiased, omega = 1/8 + sqrt(d) 2^(1-s) min(1, sqrt(d) 2^(1-s))"},
           detail::make_natural_dithering},
          {{"terngrad", {}, "TernGrad: ||x||_inf sign(x_j) Bernoulli(|x_j|/||x||_inf); unbiased, omega = sqrt(d) - 1"},
           detail::make_terngrad},
          {{"sign", {}, "scaled sign (||x||_1/d) sign(x); contractive, alpha = 1/d; 1 bit/coord"}, detail::make_sign},
          {{"onebit", {}, "norm-preserving sign (||x||_2/sqrt(d)) sign(x) (1-bit Adam); biased, not contractive"},
           detail::make_onebit},
          {{"lowrank",
            {{"r", "1", "rank >= 1 (capped at min(rows, cols))"},
             {"rows", "0", "rows of the matrix view (0: ceil(sqrt(d)); capped at d); cols = ceil(d/rows)"},
             {"factor", "own", "own: each client its own warm-started power iteration; shared: projection on a factor "
                               "all clients share, updated from the aggregate each round (summable: --aggregation "
                               "allreduce)"}},
            "PowerSGD: one warm-started power iteration on x seen as a matrix; biased, sends r (rows + cols) values"},
           detail::make_lowrank},
      });
  return table;
}

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return std::string(s.substr(first, last - first + 1));
}

// Position of a composition '+' at parenthesis depth 0: one followed (after blanks) by a
// letter, so that "1e+5" stays a number. npos if none.
std::size_t find_plus(const std::string& text) {
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c != '+' || depth != 0) continue;
    std::size_t next = i + 1;
    while (next < text.size() && (text[next] == ' ' || text[next] == '\t')) ++next;
    if (next < text.size() && std::isalpha(static_cast<unsigned char>(text[next])) != 0) return i;
  }
  return std::string::npos;
}

constexpr std::string_view kWrapper = "contractive";

}  // namespace

std::string_view to_string(CompressorClass kind) {
  switch (kind) {
    case CompressorClass::contractive:
      return "contractive";
    case CompressorClass::unbiased:
      return "unbiased";
    case CompressorClass::biased:
      return "biased (neither contractive nor unbiased)";
  }
  return "unknown";
}

std::span<const SpecEntry> compressor_table() { return registry().entries(); }

std::unique_ptr<Compressor> make_compressor(std::string_view spec_text) {
  const std::string text = trim(spec_text);
  if (text.rfind(kWrapper, 0) == 0) {
    const std::string rest = trim(std::string_view(text).substr(kWrapper.size()));
    if (rest.empty() || rest.front() != '(' || rest.back() != ')') {
      throw ConfigError("compressor '" + text + "': the wrapper is written contractive(<spec>), e.g. contractive(qsgd:s=4)");
    }
    const std::string inner = rest.substr(1, rest.size() - 2);
    return detail::make_contractive(make_compressor(inner), text);
  }
  const std::size_t plus = find_plus(text);
  if (plus != std::string::npos) {
    const std::string first = trim(std::string_view(text).substr(0, plus));
    const std::string second = trim(std::string_view(text).substr(plus + 1));
    if (find_plus(second) != std::string::npos) {
      throw ConfigError("compressor '" + text + "': at most one '+' (a sparsifier followed by a quantiser)");
    }
    if (first.empty()) throw ConfigError("compressor '" + text + "': nothing before '+'");
    return detail::make_composition(make_compressor(first), make_compressor(second), text);
  }
  if (text.find_first_of("()") != std::string::npos) {
    throw ConfigError("compressor '" + text + "': unexpected parenthesis (the only wrapper is contractive(<spec>))");
  }
  return registry().make(text);
}

std::string describe_compressors() {
  std::ostringstream out;
  out << "Compressors (--compressor SPEC, SPEC = name[:key=value,...]):\n";
  for (const SpecEntry& e : compressor_table()) {
    out << "  " << e.name << "\n      " << e.help << "\n";
    for (const SpecKey& k : e.keys) {
      out << "      " << k.name << "=" << (k.default_value.empty() ? "(required)" : k.default_value) << "  " << k.help
          << "\n";
    }
  }
  out << "Composition:\n"
         "  A+B               quantise the values kept by A with B; A in {identity, topk, randk},\n"
         "                    B in {qsgd, natural, natural_dithering, terngrad, sign, onebit};\n"
         "                    e.g. topk:k=0.01+qsgd:s=16\n"
         "  contractive(SPEC) SPEC / (omega + 1) for an unbiased SPEC (alpha = 1/(omega + 1)), or for\n"
         "                    A+B with A a projection and B unbiased (alpha = alpha_A/(omega_B + 1));\n"
         "                    what EF methods need, e.g. contractive(qsgd:s=4) (quote it in a shell)\n";
  return out.str();
}

}  // namespace ecco
