// --data: a LIBSVM file path, or a generator spec (a name from data_generator_table()).
#include <string>
#include <vector>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"

namespace ecco {
namespace {

const std::vector<SpecEntry>& table() {
  static const std::vector<SpecEntry> entries = {
      {"synthetic_classification",
       {{"rows", "2000", "number of rows"},
        {"dim", "50", "number of features"},
        {"density", "0.2", "fraction of non-zero features per row, in (0, 1]"},
        {"noise", "0.1", "standard deviation of the label noise"},
        {"seed", "1", "seed of the generator (independent of --seed)"}},
       "binary labels from a hidden linear model (for logistic)"},
      {"synthetic",
       {{"clients", "0", "clients the rows are generated for; 0: --clients"},
        {"rows", "50", "rows per client (>= dim)"},
        {"dim", "20", "number of features"},
        {"spread", "100", "max/min ratio of the clients' L_i (L of f stays fixed)"},
        {"cond", "10", "condition number of f (mu = 2/cond with lambda = 0)"},
        {"noise", "0", "standard deviation of the target noise (0: interpolation)"},
        {"seed", "1", "seed of the generator (independent of --seed)"}},
       "heterogeneous linear-regression clients like EF21-W's (for least_squares)"},
  };
  return entries;
}

bool is_generator(std::string_view text) {
  for (const auto& entry : table()) {
    if (text == entry.name || text.rfind(entry.name + ":", 0) == 0) return true;
  }
  return false;
}

std::size_t positive(const Spec& spec, const char* key) {
  const std::int64_t value = spec.get_int(key);
  if (value < 1) throw ConfigError("--data " + spec.name() + ": " + key + " must be >= 1");
  return static_cast<std::size_t>(value);
}

}  // namespace

std::span<const SpecEntry> data_generator_table() { return table(); }

Dataset load_dataset(const std::string& text, std::optional<std::size_t> dim, std::size_t clients) {
  if (!is_generator(text)) return read_libsvm(text, dim);
  const Spec spec = resolve_spec("data generator", text, table());
  Dataset data;
  if (spec.name() == "synthetic_classification") {
    SyntheticClassification gen;
    gen.rows = positive(spec, "rows");
    gen.dim = positive(spec, "dim");
    gen.density = spec.get_double("density");
    gen.noise = spec.get_double("noise");
    gen.seed = static_cast<std::uint64_t>(spec.get_int("seed"));
    data = make_synthetic_classification(gen);
  } else {
    SyntheticRegression gen;
    const std::int64_t for_clients = spec.get_int("clients");
    if (for_clients < 0) throw ConfigError("--data synthetic: clients must be >= 0");
    gen.clients = for_clients == 0 ? clients : static_cast<std::size_t>(for_clients);
    if (gen.clients != clients) {
      throw ConfigError("--data synthetic: the rows are generated for " + std::to_string(gen.clients) +
                        " clients but --clients is " + std::to_string(clients) + " (omit clients= to follow --clients)");
    }
    gen.rows = positive(spec, "rows");
    gen.dim = positive(spec, "dim");
    gen.spread = spec.get_double("spread");
    gen.cond = spec.get_double("cond");
    gen.noise = spec.get_double("noise");
    gen.seed = static_cast<std::uint64_t>(spec.get_int("seed"));
    data = make_synthetic_regression(gen);
  }
  if (dim && *dim != data.dim()) {
    throw ConfigError("--dim " + std::to_string(*dim) + " contradicts --data " + spec.to_string() + " (d = " +
                      std::to_string(data.dim()) + ")");
  }
  data.source = spec.to_string();
  if (spec.name() == "synthetic") {
    // Name the client count the rows were generated for, not the 0 that means --clients.
    const std::string zero = "clients=0,";
    if (const auto at = data.source.find(zero); at != std::string::npos) {
      data.source.replace(at, zero.size(), "clients=" + std::to_string(clients) + ",");
    }
  }
  return data;
}

}  // namespace ecco
