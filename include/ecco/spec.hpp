#pragma once
// Spec strings: "name" or "name:key=value,key=value".
//
// Everything pluggable (compressors, methods, problems, step-size rules, data sources) is
// chosen by a spec string. A family (e.g. "compressor") has one explicit table of
// SpecEntry rows; resolve_spec() checks a string against it once, fills in defaults and
// returns a Spec whose typed getters never see an unknown key.
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ecco {

// One key a spec entry accepts. An empty default_value means the key is required.
struct SpecKey {
  std::string name;
  std::string default_value;
  std::string help;
};

// One valid name of a family, with the keys it accepts.
struct SpecEntry {
  std::string name;
  std::vector<SpecKey> keys;
  std::string help;
};

// A parsed and resolved spec: the name plus a value for every key its entry declares.
class Spec {
 public:
  Spec() = default;
  Spec(std::string family, std::string name, std::map<std::string, std::string> values);

  const std::string& family() const { return family_; }
  const std::string& name() const { return name_; }
  bool has(std::string_view key) const;

  // Typed access. A value that does not parse as the type is a ConfigError naming the
  // family, the spec name, the key and the offending text.
  const std::string& get_string(std::string_view key) const;
  double get_double(std::string_view key) const;
  std::int64_t get_int(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  // A seed: a whole number in [0, 2^64 - 1], the rule of --seed (no sign, no wrap-around).
  std::uint64_t get_seed(std::string_view key) const;

  // Canonical text, "name:k1=v1,k2=v2" with keys in sorted order and defaults filled in.
  std::string to_string() const;

 private:
  const std::string& raw(std::string_view key) const;

  std::string family_;
  std::string name_;
  std::map<std::string, std::string, std::less<>> values_;
};

// Splits text into name and key=value pairs without validating names or keys.
// Throws ConfigError on malformed text (empty name, missing '=', empty key, repeated key).
struct ParsedSpec {
  std::string name;
  std::vector<std::pair<std::string, std::string>> pairs;
};
ParsedSpec parse_spec(std::string_view family, std::string_view text);

// Parses text and checks it against the family's table: an unknown name lists the valid
// names, an unknown key lists the entry's keys, a missing required key is named.
Spec resolve_spec(std::string_view family, std::string_view text, std::span<const SpecEntry> table);

}  // namespace ecco
