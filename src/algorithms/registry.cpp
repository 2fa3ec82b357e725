#include "algorithms/builtin.hpp"
#include "core/registry.hpp"

namespace ecco {
namespace {

const SpecKey kInit{"init", "full", "g_i^0: full (grad f_i(x^0), sent dense) or compressed (C(grad f_i(x^0)))"};
const SpecKey kBatch{"batch", "0.25", "minibatch per client: count >= 1, fraction of N_i in (0, 1), or full"};
const SpecKey kBeta1{"beta1", "0.9", "Adam's first-moment (momentum) decay, in [0, 1)"};
const SpecKey kBeta2{"beta2", "0.999", "Adam's second-moment (variance) decay, in [0, 1)"};
const SpecKey kEps{"eps", "1e-8", "added to sqrt(variance), > 0"};
const SpecKey kWeightDecay{"weight_decay", "0", "decoupled weight decay (AdamW): x *= 1 - lr * weight_decay, >= 0"};
const SpecKey kBiasCorrection{"bias_correction", "true", "divide the moments by 1 - beta^(k+1) (PyTorch) or not (DeepSpeed)"};

const detail::Registry<Method>& registry() {
  static const detail::Registry<Method> table(
      "algorithm",
      {
          {{"gd", {}, "distributed gradient descent, uncompressed (the compressor is not used)"}, detail::make_gd},
          {{"sgd",
            {kBatch, {"momentum", "0", "heavy-ball momentum at the server, in [0, 1)"}},
            "distributed minibatch SGD, uncompressed"},
           detail::make_sgd},
          {{"dcgd",
            {{"batch", "full", "gradient per client: full, a count >= 1 or a fraction of N_i"}},
            "compressed gradient descent without feedback: sends C(grad f_i); with batch=, compressed SGD (QSGD)"},
           detail::make_dcgd},
          {{"ef14",
            {{"batch", "full", "gradient per client: full, a count >= 1 or a fraction of N_i"},
             {"momentum", "0",
              "heavy-ball momentum at the server, in [0, 1); > 0: C(e_i + grad) and v = beta v + mean (PowerSGD's EF-SGD)"}},
            "classic error feedback: sends C(e_i + gamma grad), keeps the rest in e_i"},
           detail::make_ef14},
          {{"ef21", {kInit}, "EF21: sends C(grad f_i - g_i), tracks g_i"}, detail::make_ef21},
          {{"ef21w", {kInit}, "EF21-W: EF21 weighted by w_i = L_i / sum L_j, step with L_AM"}, detail::make_ef21w},
          {{"ef21_plus", {}, "EF21+: sends C(grad - g_i) or C(grad), whichever lands closer to grad f_i"},
           detail::make_ef21_plus},
          {{"ef21_sgd", {kBatch, kInit}, "EF21 with minibatch gradients"}, detail::make_ef21_sgd},
          {{"ef21_sgdm",
            {kBatch, {"eta", "0.1", "momentum weight of the fresh gradient, in (0, 1]"}, kInit},
            "EF21 with momentum on minibatch gradients"},
           detail::make_ef21_sgdm},
          {{"ef21_page",
            {kBatch, {"p", "0.1", "probability of a full gradient per round (one shared coin), in (0, 1]"}},
            "EF21 with the PAGE estimator"},
           detail::make_ef21_page},
          {{"ef21_pp",
            {{"participation", "0.5", "fraction p in (0, 1]: floor(p n) clients per round (nice)"},
             {"sampling", "nice", "nice (exactly floor(p n) clients) or poisson (each with probability p)"}},
            "EF21 with partial participation; absent clients send nothing"},
           detail::make_ef21_pp},
          {{"ef21_bc", {}, "EF21 with a compressed downlink (--down-compressor)"}, detail::make_ef21_bc},
          {{"ef21_hb",
            {{"eta", "0.9", "heavy-ball momentum in [0, 1)"}},
            "EF21 with heavy-ball momentum at the server"},
           detail::make_ef21_hb},
          {{"econtrol",
            {{"eta", "0.1", "feedback strength in [0, 1]"},
             {"batch", "full", "gradient per client: full, a count >= 1 or a fraction of N_i"},
             kInit},
            "EControl: sends C(eta e_i + grad - h_i); needs --lr VALUE"},
           detail::make_econtrol},
          {{"adam",
            {kBatch, kBeta1, kBeta2, kEps, kWeightDecay, kBiasCorrection},
            "distributed Adam (AdamW-style decay), uncompressed; needs --lr VALUE"},
           detail::make_adam},
          {{"onebit_adam",
            {kBatch,
             {"freeze", "100", "rounds of dense Adam before the variance freezes and the momentum goes 1-bit, >= 1"},
             {"chunk", "65536", "coordinates per 1-bit chunk (one scale each, on clients and server)"},
             kBeta1, kBeta2, kEps, kWeightDecay, kBiasCorrection},
            "1-bit Adam: dense warm-up, then 1-bit momentum with client and server error feedback; needs --lr VALUE"},
           detail::make_onebit_adam},
      });
  return table;
}

}  // namespace

std::span<const SpecEntry> method_table() { return registry().entries(); }

std::unique_ptr<Method> make_method(std::string_view spec_text) { return registry().make(spec_text); }

namespace {

bool has_batch_key(const SpecEntry& entry) {
  for (const SpecKey& key : entry.keys) {
    if (key.name == "batch") return true;
  }
  return false;
}

}  // namespace

std::string method_with_batch(std::string_view spec_text, std::size_t rows) {
  const ParsedSpec parsed = parse_spec("algorithm", spec_text);
  const Spec resolved = resolve_spec("algorithm", spec_text, method_table());
  if (!resolved.has("batch")) {
    std::string with;
    for (const SpecEntry& entry : method_table()) {
      if (has_batch_key(entry)) with += (with.empty() ? "" : ", ") + entry.name;
    }
    throw ConfigError("--batch: algorithm '" + parsed.name + "' has no minibatch (methods with one: " + with + ")");
  }
  for (const auto& [key, value] : parsed.pairs) {
    if (key == "batch") {
      throw ConfigError("--batch " + std::to_string(rows) + " and --algorithm " + std::string(spec_text) +
                        " both set the minibatch; give one of them");
    }
  }
  std::string text(spec_text);
  text += parsed.pairs.empty() ? ":batch=" : ",batch=";
  text += std::to_string(rows);
  return text;
}

std::size_t method_batch_rows(std::string_view spec_text, std::size_t shard_rows) {
  const Spec spec = resolve_spec("algorithm", spec_text, method_table());
  if (!spec.has("batch")) return shard_rows;
  return detail::parse_batch(spec).rows_for(shard_rows);
}

std::optional<std::size_t> method_batch_count(std::string_view spec_text) {
  const Spec spec = resolve_spec("algorithm", spec_text, method_table());
  if (!spec.has("batch")) return std::nullopt;
  const detail::BatchSize batch = detail::parse_batch(spec);
  if (batch.full || batch.value < 1.0) return std::nullopt;
  return static_cast<std::size_t>(batch.value);
}

}  // namespace ecco
