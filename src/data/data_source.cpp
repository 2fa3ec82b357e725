// --data: a LIBSVM file path, or a spec from data_generator_table() (generators and IDX
// sources); the test set (load_test_dataset).
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"

namespace ecco {
namespace {

const char* const kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

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
      {"fashion_mnist",
       {{"dir", kFashionMnistDir, "folder of the {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz files"},
        {"rows", "0", "keep the first rows training rows; 0: all 60000"},
        {"test_rows", "0", "keep the first test_rows rows of the t10k test set (test auto); 0: all 10000"}},
       "Fashion-MNIST train set: 784 pixels / 255, labels 0..9 (Debian package dataset-fashion-mnist)"},
      {"idx",
       {{"images", "", "IDX image file (uint8, magic 0x00000803), plain or gzip"},
        {"labels", "", "IDX label file (uint8, magic 0x00000801), plain or gzip"}},
       "an IDX image / label pair: pixels / 255, labels as read"},
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

bool is_spec_named(std::string_view text, const std::string& name) {
  return text == name || text.rfind(name + ":", 0) == 0;
}

// The table row `name` alone, to resolve a spec that may only be that source.
std::span<const SpecEntry> only(const std::string& name) {
  const auto& entries = table();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].name == name) return std::span(entries).subspan(i, 1);
  }
  throw std::logic_error("data source table has no " + name);
}

// Eigen 3.4's SparseMatrix has no move constructor: moving a Dataset copies its features
// (375 MB for Fashion-MNIST). Hence the readers below return by elision only, and this
// hands the arrays of `data` over by swapping.
std::optional<Dataset> handed_over(Dataset& data) {
  std::optional<Dataset> out(std::in_place);
  out->features.swap(data.features);
  out->labels.swap(data.labels);
  out->source.swap(data.source);
  out->files.swap(data.files);
  return out;
}

// Keeps the first `key` rows of `data` (0: all of them). ConfigError for a negative count or
// one above the rows there are.
void keep_first(Dataset& data, const Spec& spec, const char* key) {
  const std::int64_t value = spec.get_int(key);
  if (value < 0 || static_cast<std::uint64_t>(value) > data.rows()) {
    throw ConfigError("--data " + spec.name() + ": " + key + "=" + std::to_string(value) + " for " + data.source +
                      " (allowed: 0 = all, or 1 to its " + std::to_string(data.rows()) + " rows)");
  }
  if (value != 0 && static_cast<std::size_t>(value) < data.rows()) {
    data = data.slice(0, static_cast<std::size_t>(value));
  }
}

// `part` ("train" or "t10k") of the Fashion-MNIST files in the spec's dir, the first
// `rows_key` rows. A missing folder or file is a DataError that says where the files come
// from.
Dataset read_fashion_mnist(const Spec& spec, const std::string& part, const char* rows_key) {
  const std::filesystem::path dir = spec.get_string("dir");
  const std::string hint =
      std::string("; the Debian package dataset-fashion-mnist provides the Fashion-MNIST files (in ") +
      kFashionMnistDir + "): apt-get install dataset-fashion-mnist";
  std::error_code ignored;
  if (!std::filesystem::is_directory(dir, ignored)) throw DataError(dir.string() + ": no such directory" + hint);
  const std::string images = (dir / (part + "-images-idx3-ubyte.gz")).string();
  const std::string labels = (dir / (part + "-labels-idx1-ubyte.gz")).string();
  for (const std::string& file : {images, labels}) {
    if (!std::filesystem::exists(file, ignored)) throw DataError(file + ": no such file" + hint);
  }
  Dataset data = read_idx(images, labels);
  keep_first(data, spec, rows_key);
  return data;
}

// The data of a spec of the table; `clients` is --clients.
Dataset read_spec(const Spec& spec, std::size_t clients) {
  if (spec.name() == "fashion_mnist") return read_fashion_mnist(spec, "train", "rows");
  if (spec.name() == "idx") return read_idx(spec.get_string("images"), spec.get_string("labels"));
  if (spec.name() == "synthetic_classification") {
    SyntheticClassification gen;
    gen.rows = positive(spec, "rows");
    gen.dim = positive(spec, "dim");
    gen.density = spec.get_double("density");
    gen.noise = spec.get_double("noise");
    gen.seed = spec.get_seed("seed");
    return make_synthetic_classification(gen);
  }
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
  gen.seed = spec.get_seed("seed");
  return make_synthetic_regression(gen);
}

// The test set of a test_text other than "none" and "auto".
Dataset load_spec(const std::string& text, std::optional<std::size_t> dim, std::size_t clients);

Dataset read_test_file(const std::string& test_text, std::size_t dim) {
  if (is_spec_named(test_text, "synthetic_classification")) return load_spec(test_text, std::nullopt, 1);
  if (!is_spec_named(test_text, "idx")) return read_libsvm(test_text, dim);
  const Spec spec = resolve_spec("test data source", test_text, only("idx"));
  return read_idx(spec.get_string("images"), spec.get_string("labels"));
}

// load_dataset for a spec. One named return value only: GCC elides the copy then.
Dataset load_spec(const std::string& text, std::optional<std::size_t> dim, std::size_t clients) {
  const Spec spec = resolve_spec("data source", text, table());
  Dataset data = read_spec(spec, clients);
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

}  // namespace

std::span<const SpecEntry> data_generator_table() { return table(); }

Dataset load_dataset(const std::string& text, std::optional<std::size_t> dim, std::size_t clients) {
  if (!is_generator(text)) return read_libsvm(text, dim);
  return load_spec(text, dim, clients);
}

std::optional<Dataset> load_test_dataset(const std::string& test_text, const std::string& train_text, std::size_t dim) {
  if (test_text == "none") return std::nullopt;
  if (test_text == "auto" && !is_spec_named(train_text, "fashion_mnist")) return std::nullopt;
  Dataset test = test_text == "auto"
                     ? read_fashion_mnist(resolve_spec("data source", train_text, table()), "t10k", "test_rows")
                     : read_test_file(test_text, dim);
  if (test.dim() != dim) {
    throw DataError(test.source + ": the test set has d = " + std::to_string(test.dim()) +
                    " features but the training data has d = " + std::to_string(dim));
  }
  return handed_over(test);
}

}  // namespace ecco
