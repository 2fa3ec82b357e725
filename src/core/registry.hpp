#pragma once
// Registry<Product>: one explicit table per family of pluggable parts (no static
// self-registration). Private to the library sources.
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ecco/spec.hpp"

namespace ecco::detail {

template <class Product>
class Registry {
 public:
  using Make = std::function<std::unique_ptr<Product>(const Spec&)>;
  struct Row {
    SpecEntry entry;
    Make make;
  };

  Registry(std::string family, std::vector<Row> rows) : family_(std::move(family)), rows_(std::move(rows)) {
    for (const auto& row : rows_) entries_.push_back(row.entry);
  }

  std::span<const SpecEntry> entries() const { return entries_; }

  // Resolves the spec against the table (ConfigError on a bad one) and builds the product.
  std::unique_ptr<Product> make(std::string_view spec_text) const {
    const Spec spec = resolve_spec(family_, spec_text, entries_);
    for (const auto& row : rows_) {
      if (row.entry.name == spec.name()) return row.make(spec);
    }
    return nullptr;  // unreachable: resolve_spec only returns names from the table
  }

 private:
  std::string family_;
  std::vector<Row> rows_;
  std::vector<SpecEntry> entries_;
};

}  // namespace ecco::detail
