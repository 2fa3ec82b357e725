#include "ecco/spec.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <set>
#include <utility>

#include "ecco/error.hpp"

namespace ecco {
namespace {

std::string join_names(std::span<const SpecEntry> table) {
  std::string out;
  for (const auto& e : table) {
    if (!out.empty()) out += ", ";
    out += e.name;
  }
  return out;
}

std::string join_keys(const SpecEntry& entry) {
  if (entry.keys.empty()) return "none";
  std::string out;
  for (const auto& k : entry.keys) {
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  return out;
}

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return std::string(s.substr(first, last - first + 1));
}

}  // namespace

Spec::Spec(std::string family, std::string name, std::map<std::string, std::string> values)
    : family_(std::move(family)), name_(std::move(name)), values_(values.begin(), values.end()) {}

bool Spec::has(std::string_view key) const { return values_.find(key) != values_.end(); }

const std::string& Spec::raw(std::string_view key) const {
  const auto it = values_.find(key);
  if (it == values_.end()) {
    throw ConfigError(family_ + " '" + name_ + "': no key '" + std::string(key) + "'");
  }
  return it->second;
}

const std::string& Spec::get_string(std::string_view key) const { return raw(key); }

double Spec::get_double(std::string_view key) const {
  const std::string& text = raw(key);
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(value)) {
    throw ConfigError(family_ + " '" + name_ + "': key '" + std::string(key) + "' must be a finite number, got '" +
                      text + "'");
  }
  return value;
}

std::int64_t Spec::get_int(std::string_view key) const {
  const std::string& text = raw(key);
  std::string_view digits = text;
  if (digits.size() > 1 && digits.front() == '+' && digits[1] != '-') digits.remove_prefix(1);
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) {
    throw ConfigError(family_ + " '" + name_ + "': key '" + std::string(key) + "' must be an integer, got '" + text +
                      "'");
  }
  return value;
}

std::uint64_t Spec::get_seed(std::string_view key) const {
  const std::string& text = raw(key);
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    throw ConfigError(family_ + " '" + name_ + "': key '" + std::string(key) +
                      "' is a seed, a whole number in [0, 18446744073709551615], got '" + text + "'");
  }
  return value;
}

bool Spec::get_bool(std::string_view key) const {
  const std::string& text = raw(key);
  if (text == "true" || text == "1" || text == "yes") return true;
  if (text == "false" || text == "0" || text == "no") return false;
  throw ConfigError(family_ + " '" + name_ + "': key '" + std::string(key) + "' must be true or false, got '" + text +
                    "'");
}

std::string Spec::to_string() const {
  std::string out = name_;
  char sep = ':';
  for (const auto& [k, v] : values_) {
    out += sep;
    out += k;
    out += '=';
    out += v;
    sep = ',';
  }
  return out;
}

ParsedSpec parse_spec(std::string_view family, std::string_view text) {
  const std::string fam(family);
  ParsedSpec parsed;
  const auto colon = text.find(':');
  parsed.name = trim(text.substr(0, colon));
  if (parsed.name.empty()) {
    throw ConfigError(fam + " spec '" + std::string(text) + "': missing name (expected name:key=value,...)");
  }
  if (colon == std::string_view::npos) return parsed;

  std::string_view rest = text.substr(colon + 1);
  std::set<std::string> seen;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      throw ConfigError(fam + " spec '" + std::string(text) + "': '" + std::string(item) +
                        "' is not key=value (expected name:key=value,...)");
    }
    std::string key = trim(item.substr(0, eq));
    std::string value = trim(item.substr(eq + 1));
    if (key.empty() || value.empty()) {
      throw ConfigError(fam + " spec '" + std::string(text) + "': empty key or value in '" + std::string(item) + "'");
    }
    if (!seen.insert(key).second) {
      throw ConfigError(fam + " spec '" + std::string(text) + "': key '" + key + "' given twice");
    }
    parsed.pairs.emplace_back(std::move(key), std::move(value));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return parsed;
}

Spec resolve_spec(std::string_view family, std::string_view text, std::span<const SpecEntry> table) {
  const std::string fam(family);
  ParsedSpec parsed = parse_spec(family, text);
  const auto entry = std::find_if(table.begin(), table.end(), [&](const SpecEntry& e) { return e.name == parsed.name; });
  if (entry == table.end()) {
    throw ConfigError("unknown " + fam + " '" + parsed.name + "' (valid: " + join_names(table) + ")");
  }
  std::map<std::string, std::string> values;
  for (auto& pair : parsed.pairs) {
    // (Not a structured binding: clang before 16 cannot capture one in the lambda.)
    const std::string& key = pair.first;
    const bool known = std::any_of(entry->keys.begin(), entry->keys.end(), [&](const SpecKey& k) { return k.name == key; });
    if (!known) {
      throw ConfigError("unknown key '" + key + "' for " + fam + " '" + entry->name + "' (valid keys: " +
                        join_keys(*entry) + ")");
    }
    values[key] = std::move(pair.second);
  }
  for (const auto& k : entry->keys) {
    if (values.count(k.name) != 0) continue;
    if (k.default_value.empty()) {
      throw ConfigError(fam + " '" + entry->name + "' needs key '" + k.name + "' (" + k.help + ")");
    }
    values[k.name] = k.default_value;
  }
  return Spec(fam, entry->name, std::move(values));
}

}  // namespace ecco
