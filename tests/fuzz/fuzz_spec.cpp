// libFuzzer target: the spec strings (include/ecco/spec.hpp) and every entry point that
// parses one: parse_spec, resolve_spec against each family's table, make_compressor (and
// the compressor it builds, on a few dimensions), make_tensorwise_compressor, make_method,
// method_with_batch, method_batch_rows, make_problem_factory, parse_step_size,
// StepSchedule::parse, parse_adaptive_levels, make_split, and the --data / --test-data
// sources load_dataset and load_test_dataset (generators of bounded size only: the file
// readers have targets of their own, and a path in a spec would read the fuzzing machine's
// files).
//
// Input: the spec text. parse_adaptive_levels takes two specs: with a newline in the input
// they are the text before and after the first one, else the input against a fixed one on
// each side.
//
// Expected: each entry point accepts the text or throws an ecco::Error (ConfigError for a
// bad spec; DataError and NumericError where those apply). Findings besides crashes and
// sanitizer reports (fuzz_support.hpp): any other exception, and for accepted text a
// canonical form (Spec::to_string, Compressor::spec, Method::spec, ProblemFactory::spec,
// StepSizeRule::to_string, StepSchedule::spec) that does not parse back to itself, a
// compressor message that does not encode and decode, a schedule step outside [0, gamma],
// a split that is not a permutation dealt in contiguous blocks, or an adaptive level the
// compressor family refuses.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ecco/adaptive_levels.hpp"
#include "ecco/algorithm.hpp"
#include "ecco/codec.hpp"
#include "ecco/compressor.hpp"
#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/problem.hpp"
#include "ecco/rng.hpp"
#include "ecco/spec.hpp"
#include "ecco/step_schedule.hpp"
#include "ecco/step_size.hpp"
#include "ecco/tensor_layout.hpp"
#include "fuzz_support.hpp"

namespace {

using ecco_fuzz::accepts;
using ecco_fuzz::finding;

// Generated datasets stay below this many stored entries (rows x dim), so that one input
// costs milliseconds, not a large allocation.
constexpr std::int64_t kMaxGeneratedEntries = 4096;

struct Family {
  const char* name;
  std::span<const ecco::SpecEntry> (*table)();
};

const Family kFamilies[] = {
    {"compressor", ecco::compressor_table},       {"algorithm", ecco::method_table},
    {"problem", ecco::problem_table},             {"split", ecco::split_table},
    {"data source", ecco::data_generator_table},  {"lr schedule", ecco::step_schedule_table},
    {"adaptive", ecco::adaptive_table},
};

void fuzz_resolve(std::string_view text) {
  ecco::ParsedSpec parsed;
  if (!accepts("parse_spec", [&] { parsed = ecco::parse_spec("fuzz", text); })) return;
  if (parsed.name.empty()) finding("parse_spec returned an empty name");
  for (const Family& family : kFamilies) {
    ecco::Spec spec;
    if (!accepts("resolve_spec", [&] { spec = ecco::resolve_spec(family.name, text, family.table()); })) continue;
    ecco::Spec again;
    if (!accepts("resolve_spec(to_string)", [&] { again = ecco::resolve_spec(family.name, spec.to_string(), family.table()); }) ||
        again.to_string() != spec.to_string()) {
      finding(std::string(family.name) + " spec '" + spec.to_string() + "' does not resolve back to itself");
    }
    for (const ecco::SpecEntry& entry : family.table()) {
      if (entry.name != spec.name()) continue;
      for (const ecco::SpecKey& key : entry.keys) {
        accepts("Spec::get_double", [&] { (void)spec.get_double(key.name); });
        accepts("Spec::get_int", [&] { (void)spec.get_int(key.name); });
        accepts("Spec::get_bool", [&] { (void)spec.get_bool(key.name); });
      }
    }
  }
}

// x of size n with zeros, ties and both signs.
Eigen::VectorXd input_vector(std::size_t n) {
  Eigen::VectorXd x(static_cast<Eigen::Index>(n));
  for (std::size_t j = 0; j < n; ++j) {
    const double v = static_cast<double>((j * 7) % 11) - 5.0;
    x[static_cast<Eigen::Index>(j)] = j % 4 == 3 ? 0.0 : v * 0.25;
  }
  return x;
}

// Compresses x, rounds the message to the fp32 wire and checks that it encodes and decodes.
void compress_once(const ecco::Compressor& c, std::size_t dim, std::uint64_t seed) {
  ecco::Rng rng(seed);
  ecco::Rng factor_rng(seed + 1);
  const std::unique_ptr<ecco::SharedFactor> factor = c.make_shared_factor(dim, factor_rng);
  ecco::CompressorWorkspace workspace;
  workspace.shared_factor = factor.get();
  ecco::Message m;
  const Eigen::VectorXd x = input_vector(dim);
  if (!accepts("Compressor::compress", [&] {
        c.compress(x, rng, workspace, m);
        ecco::round_to_wire(m, ecco::ValueFormat::fp32);
      })) {
    return;
  }
  if (m.dim != dim) finding("compressor '" + c.spec() + "' made a message of another dimension");
  std::vector<std::byte> bytes;
  ecco::Message back;
  try {
    ecco::encode(m, ecco::ValueFormat::fp32, bytes);
    ecco::decode(bytes, static_cast<std::uint32_t>(dim), factor.get(), back);
  } catch (const std::exception& e) {
    finding("compressor '" + c.spec() + "': its message does not encode and decode: " + e.what());
  }
}

void fuzz_compressor(std::string_view text) {
  std::unique_ptr<ecco::Compressor> c;
  if (!accepts("make_compressor", [&] { c = ecco::make_compressor(text); })) return;
  const std::string spec = c->spec();
  std::unique_ptr<ecco::Compressor> again;
  if (!accepts("make_compressor(spec())", [&] { again = ecco::make_compressor(spec); }) || again->spec() != spec) {
    finding("compressor spec '" + spec + "' does not build back to itself");
  }
  for (const std::size_t dim : {std::size_t{1}, std::size_t{7}, std::size_t{64}}) {
    if (!accepts("Compressor::traits", [&] { (void)c->traits(dim); })) continue;
    compress_once(*c, dim, dim);
  }
}

void fuzz_tensorwise(std::string_view text) {
  static const ecco::TensorLayout layout = {{"w", 0, 8, 6}, {"b", 48, 8, 1}, {"v", 56, 20, 1}};
  std::unique_ptr<ecco::Compressor> c;
  if (!accepts("make_tensorwise_compressor", [&] { c = ecco::make_tensorwise_compressor(text, layout, 10); })) return;
  if (!accepts("Compressor::traits (tensorwise)", [&] { (void)c->traits(ecco::layout_dim(layout)); })) return;
  compress_once(*c, ecco::layout_dim(layout), 3);
}

void fuzz_method(std::string_view text) {
  std::unique_ptr<ecco::Method> m;
  if (accepts("make_method", [&] { m = ecco::make_method(text); })) {
    const std::string spec = m->spec();
    std::unique_ptr<ecco::Method> again;
    if (!accepts("make_method(spec())", [&] { again = ecco::make_method(spec); }) || again->spec() != spec) {
      finding("method spec '" + spec + "' does not build back to itself");
    }
  }
  accepts("method_with_batch", [&] { (void)ecco::method_with_batch(text, 8); });
  accepts("method_batch_rows", [&] { (void)ecco::method_batch_rows(text, 100); });
}

void fuzz_problem(std::string_view text) {
  std::unique_ptr<ecco::ProblemFactory> p;
  if (!accepts("make_problem_factory", [&] { p = ecco::make_problem_factory(text); })) return;
  const std::string spec = p->spec();
  std::unique_ptr<ecco::ProblemFactory> again;
  if (!accepts("make_problem_factory(spec())", [&] { again = ecco::make_problem_factory(spec); }) ||
      again->spec() != spec) {
    finding("problem spec '" + spec + "' does not build back to itself");
  }
}

void fuzz_step_size(std::string_view text) {
  ecco::StepSizeRule rule;
  if (!accepts("parse_step_size", [&] { rule = ecco::parse_step_size(text); })) return;
  const std::string canonical = rule.to_string();
  ecco::StepSizeRule again;
  if (!accepts("parse_step_size(to_string())", [&] { again = ecco::parse_step_size(canonical); }) ||
      again.to_string() != canonical) {
    finding("--lr '" + canonical + "' does not parse back to itself");
  }
}

void fuzz_schedule(std::string_view text) {
  constexpr double gamma = 0.5;
  constexpr std::int64_t rounds = 100;
  std::optional<ecco::StepSchedule> s;
  if (!accepts("StepSchedule::parse", [&] { s.emplace(ecco::StepSchedule::parse(text, gamma, rounds)); })) return;
  for (const std::int64_t k : {0, 1, 2, 50, 99, 100, 1000}) {
    const double step = s->at(k);
    if (!(step >= 0.0 && step <= gamma)) finding("--lr-schedule " + s->spec() + ": a step outside [0, gamma]");
  }
  std::optional<ecco::StepSchedule> again;
  if (!accepts("StepSchedule::parse(spec())", [&] { again.emplace(ecco::StepSchedule::parse(s->spec(), gamma, rounds)); }) ||
      again->spec() != s->spec()) {
    finding("--lr-schedule '" + s->spec() + "' does not parse back to itself");
  }
}

void fuzz_adaptive(std::string_view adaptive, std::string_view compressor) {
  ecco::AdaptiveLevels levels;
  if (!accepts("parse_adaptive_levels", [&] { levels = ecco::parse_adaptive_levels(adaptive, compressor); })) return;
  if (levels.level_specs.empty() || levels.level_specs.size() != levels.level_values.size()) {
    finding("parse_adaptive_levels: no levels, or not one value per level");
  }
  for (const std::string& level : levels.level_specs) {
    if (!accepts("make_compressor(level)", [&] { (void)ecco::make_compressor(level); })) {
      finding("adaptive level '" + level + "' is refused by make_compressor");
    }
  }
}

// Generator specs small enough to run; fashion_mnist and idx read files, so only resolved.
bool small_generator(std::string_view text) {
  ecco::Spec spec;
  if (!accepts("resolve_spec (data source)",
               [&] { spec = ecco::resolve_spec("data source", text, ecco::data_generator_table()); })) {
    return false;
  }
  bool small = false;
  accepts("data source size", [&] {
    if (spec.name() == "synthetic_classification") {
      const std::int64_t rows = spec.get_int("rows");
      const std::int64_t dim = spec.get_int("dim");
      small = rows <= kMaxGeneratedEntries && dim <= kMaxGeneratedEntries && rows * dim <= kMaxGeneratedEntries;
    } else if (spec.name() == "synthetic") {
      const std::int64_t clients = spec.get_int("clients");
      const std::int64_t rows = spec.get_int("rows");
      const std::int64_t dim = spec.get_int("dim");
      small = clients <= 4 && rows <= kMaxGeneratedEntries && dim <= 64 && 4 * rows * dim <= kMaxGeneratedEntries;
    }
  });
  return small;
}

void fuzz_data(std::string_view text) {
  if (!small_generator(text)) return;
  const std::string spec(text);
  std::optional<ecco::Dataset> data;
  if (!accepts("load_dataset", [&] { data.emplace(ecco::load_dataset(spec, std::nullopt, 2)); })) return;
  if (data->rows() == 0 || data->dim() == 0 || static_cast<std::size_t>(data->labels.size()) != data->rows()) {
    finding("load_dataset '" + spec + "': dataset shape disagrees");
  }
  std::optional<ecco::Dataset> again;
  if (!accepts("load_dataset(source)", [&] { again.emplace(ecco::load_dataset(data->source, data->dim(), 2)); }) ||
      ecco::fingerprint(*again) != ecco::fingerprint(*data)) {
    finding("load_dataset: the canonical source '" + data->source + "' does not load the same data");
  }
  accepts("load_test_dataset", [&] { (void)ecco::load_test_dataset(spec, "synthetic_classification", data->dim()); });
}

void fuzz_split(std::string_view text) {
  static const ecco::Dataset data = [] {
    ecco::SyntheticClassification gen;
    gen.rows = 12;
    gen.dim = 3;
    return ecco::make_synthetic_classification(gen);
  }();
  constexpr std::size_t clients = 3;
  ecco::ClientSplit split;
  if (!accepts("make_split", [&] { split = ecco::make_split(data, clients, text); })) return;
  std::vector<std::uint32_t> sorted = split.order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::uint32_t> identity(data.rows());
  std::iota(identity.begin(), identity.end(), 0U);
  if (sorted != identity) finding("make_split '" + std::string(text) + "': the order is not a permutation");
  std::size_t at = 0;
  for (const ecco::RowRange& r : split.ranges) {
    if (r.begin != at || r.end < r.begin) finding("make_split: ranges not contiguous");
    at = r.end;
  }
  if (split.clients() != clients || at != data.rows()) finding("make_split: ranges do not cover the rows");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz_resolve(text);
  fuzz_compressor(text);
  fuzz_tensorwise(text);
  fuzz_method(text);
  fuzz_problem(text);
  fuzz_step_size(text);
  fuzz_schedule(text);
  fuzz_data(text);
  fuzz_split(text);
  if (const auto newline = text.find('\n'); newline != std::string_view::npos) {
    fuzz_adaptive(text.substr(0, newline), text.substr(newline + 1));
  } else {
    fuzz_adaptive(text, "topk:k=0.1");
    fuzz_adaptive("lgreco", text);
  }
  return 0;
}
