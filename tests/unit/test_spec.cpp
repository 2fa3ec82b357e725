// Unit tests of spec strings: parse_spec, resolve_spec and the typed getters of Spec.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "ecco/problem.hpp"
#include "ecco/spec.hpp"

namespace {

using ::testing::HasSubstr;

// A small family table used by the resolve tests. Keys of "qsgd" are declared out of
// alphabetical order on purpose, so that to_string's sorting is observable.
const std::vector<ecco::SpecEntry>& table() {
  static const std::vector<ecco::SpecEntry> entries = {
      {"topk", {{"k", "", "coordinates kept"}, {"scale", "1.0", "output scale"}}, "Top-K"},
      {"identity", {}, "no compression"},
      {"qsgd", {{"s", "4", "levels"}, {"norm", "l2", "norm used"}, {"biased", "false", "biased variant"}}, "QSGD"},
  };
  return entries;
}

ecco::Spec resolve(const std::string& text) { return ecco::resolve_spec("compressor", text, table()); }

// Returns the message of the ConfigError thrown by f; fails the test if f does not throw
// exactly that type.
template <typename F>
std::string config_error_message(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const ecco::ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected ecco::ConfigError, got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected ecco::ConfigError, nothing was thrown";
  return {};
}

std::string parse_error(const std::string& text) {
  return config_error_message([&] { (void)ecco::parse_spec("compressor", text); });
}

std::string resolve_error(const std::string& text) {
  return config_error_message([&] { (void)resolve(text); });
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

// ---------------------------------------------------------------------------------------
// parse_spec

TEST(SpecParse, NameOnly) {
  const ecco::ParsedSpec parsed = ecco::parse_spec("compressor", "identity");
  EXPECT_EQ(parsed.name, "identity");
  EXPECT_TRUE(parsed.pairs.empty());
}

TEST(SpecParse, NameAndOnePair) {
  const ecco::ParsedSpec parsed = ecco::parse_spec("compressor", "topk:k=0.01");
  EXPECT_EQ(parsed.name, "topk");
  EXPECT_EQ(parsed.pairs, (Pairs{{"k", "0.01"}}));
}

TEST(SpecParse, SeveralPairsKeepTheirOrder) {
  const ecco::ParsedSpec parsed = ecco::parse_spec("compressor", "qsgd:s=8,norm=linf,biased=true");
  EXPECT_EQ(parsed.name, "qsgd");
  EXPECT_EQ(parsed.pairs, (Pairs{{"s", "8"}, {"norm", "linf"}, {"biased", "true"}}));
}

TEST(SpecParse, SurroundingBlanksAreTrimmed) {
  const ecco::ParsedSpec parsed = ecco::parse_spec("compressor", " topk : k = 5 ,\tscale= 2 ");
  EXPECT_EQ(parsed.name, "topk");
  EXPECT_EQ(parsed.pairs, (Pairs{{"k", "5"}, {"scale", "2"}}));
}

TEST(SpecParse, DoesNotValidateNamesOrKeys) {
  const ecco::ParsedSpec parsed = ecco::parse_spec("anything", "no_such_name:whatever=1");
  EXPECT_EQ(parsed.name, "no_such_name");
  EXPECT_EQ(parsed.pairs, (Pairs{{"whatever", "1"}}));
}

TEST(SpecParse, ValueMayContainEqualsSign) {
  // Only the first '=' separates key and value.
  const ecco::ParsedSpec parsed = ecco::parse_spec("compressor", "x:a=b=c");
  EXPECT_EQ(parsed.pairs, (Pairs{{"a", "b=c"}}));
}

TEST(SpecParseErrors, EmptyText) {
  const std::string msg = parse_error("");
  EXPECT_THAT(msg, HasSubstr("compressor"));
  EXPECT_THAT(msg, HasSubstr("name"));
}

TEST(SpecParseErrors, BlankText) { EXPECT_THROW((void)ecco::parse_spec("compressor", "   "), ecco::ConfigError); }

TEST(SpecParseErrors, EmptyNameBeforeColon) {
  const std::string msg = parse_error(":k=1");
  EXPECT_THAT(msg, HasSubstr("compressor"));
  EXPECT_THAT(msg, HasSubstr(":k=1"));
  EXPECT_THAT(msg, HasSubstr("name"));
  EXPECT_THROW((void)ecco::parse_spec("compressor", "  :k=1"), ecco::ConfigError);
}

TEST(SpecParseErrors, KeyWithoutValue) {
  const std::string msg = parse_error("topk:k");
  EXPECT_THAT(msg, HasSubstr("compressor"));
  EXPECT_THAT(msg, HasSubstr("topk:k"));
  EXPECT_THAT(msg, HasSubstr("key=value"));
}

TEST(SpecParseErrors, EmptyKey) {
  const std::string msg = parse_error("topk:=1");
  EXPECT_THAT(msg, HasSubstr("compressor"));
  EXPECT_THAT(msg, HasSubstr("topk:=1"));
  EXPECT_THROW((void)ecco::parse_spec("compressor", "topk: =1"), ecco::ConfigError);
}

TEST(SpecParseErrors, EmptyValue) {
  const std::string msg = parse_error("topk:k=");
  EXPECT_THAT(msg, HasSubstr("topk:k="));
  EXPECT_THROW((void)ecco::parse_spec("compressor", "topk:k= ,scale=2"), ecco::ConfigError);
}

TEST(SpecParseErrors, RepeatedKey) {
  const std::string msg = parse_error("topk:k=1,k=2");
  EXPECT_THAT(msg, HasSubstr("compressor"));
  EXPECT_THAT(msg, HasSubstr("topk:k=1,k=2"));
  EXPECT_THAT(msg, HasSubstr("'k'"));
  // Repeated after trimming too.
  EXPECT_THROW((void)ecco::parse_spec("compressor", "topk:k=1, k =2"), ecco::ConfigError);
}

TEST(SpecParseErrors, TrailingComma) {
  const std::string msg = parse_error("topk:k=1,");
  EXPECT_THAT(msg, HasSubstr("compressor"));
  EXPECT_THAT(msg, HasSubstr("topk:k=1,"));
}

TEST(SpecParseErrors, ColonWithNothingAfterIt) { EXPECT_THROW((void)ecco::parse_spec("compressor", "topk:"), ecco::ConfigError); }

TEST(SpecParseErrors, EmptyItemBetweenCommas) {
  EXPECT_THROW((void)ecco::parse_spec("compressor", "topk:k=1,,scale=2"), ecco::ConfigError);
}

TEST(SpecParseErrors, ConfigErrorIsAnEccoError) {
  EXPECT_THROW((void)ecco::parse_spec("compressor", ""), ecco::Error);
  EXPECT_THROW((void)ecco::parse_spec("compressor", ""), std::runtime_error);
}

// ---------------------------------------------------------------------------------------
// resolve_spec

TEST(SpecResolve, ValidSpecWithAllKeysGiven) {
  const ecco::Spec spec = resolve("topk:k=10,scale=0.5");
  EXPECT_EQ(spec.family(), "compressor");
  EXPECT_EQ(spec.name(), "topk");
  EXPECT_EQ(spec.get_string("k"), "10");
  EXPECT_EQ(spec.get_string("scale"), "0.5");
}

TEST(SpecResolve, DefaultsAreFilledIn) {
  const ecco::Spec spec = resolve("topk:k=10");
  EXPECT_TRUE(spec.has("scale"));
  EXPECT_EQ(spec.get_string("scale"), "1.0");

  const ecco::Spec q = resolve("qsgd");
  EXPECT_EQ(q.get_string("s"), "4");
  EXPECT_EQ(q.get_string("norm"), "l2");
  EXPECT_EQ(q.get_string("biased"), "false");
}

TEST(SpecResolve, GivenValueOverridesDefault) {
  const ecco::Spec q = resolve("qsgd:norm=linf");
  EXPECT_EQ(q.get_string("norm"), "linf");
  EXPECT_EQ(q.get_string("s"), "4");
}

TEST(SpecResolve, HasOnlyDeclaredKeys) {
  const ecco::Spec spec = resolve("topk:k=3");
  EXPECT_TRUE(spec.has("k"));
  EXPECT_TRUE(spec.has("scale"));
  EXPECT_FALSE(spec.has("s"));
  EXPECT_FALSE(spec.has(""));
}

TEST(SpecResolve, CanonicalStringHasSortedKeysAndDefaults) {
  // Keys declared as s, norm, biased and given as norm, s: canonical order is sorted.
  EXPECT_EQ(resolve("qsgd:norm=linf,s=8").to_string(), "qsgd:biased=false,norm=linf,s=8");
  EXPECT_EQ(resolve("qsgd").to_string(), "qsgd:biased=false,norm=l2,s=4");
  EXPECT_EQ(resolve("topk:scale=2,k=7").to_string(), "topk:k=7,scale=2");
  EXPECT_EQ(resolve(" topk : k = 7 ").to_string(), "topk:k=7,scale=1.0");
}

TEST(SpecResolve, CanonicalStringWithoutKeysIsJustTheName) { EXPECT_EQ(resolve("identity").to_string(), "identity"); }

TEST(SpecResolve, CanonicalStringRoundTrips) {
  for (const std::string text : {"topk:k=0.01", "qsgd:biased=true", "identity", "qsgd:s=2,norm=linf,biased=false"}) {
    const std::string canonical = resolve(text).to_string();
    EXPECT_EQ(resolve(canonical).to_string(), canonical) << text;
  }
}

TEST(SpecResolve, UnknownNameListsValidNames) {
  const std::string msg = resolve_error("topq:k=1");
  EXPECT_THAT(msg, HasSubstr("compressor"));
  EXPECT_THAT(msg, HasSubstr("topq"));
  EXPECT_THAT(msg, HasSubstr("topk"));
  EXPECT_THAT(msg, HasSubstr("identity"));
  EXPECT_THAT(msg, HasSubstr("qsgd"));
}

TEST(SpecResolve, UnknownKeyListsValidKeys) {
  const std::string msg = resolve_error("topk:k=1,ratio=2");
  EXPECT_THAT(msg, HasSubstr("compressor"));
  EXPECT_THAT(msg, HasSubstr("ratio"));
  EXPECT_THAT(msg, HasSubstr("topk"));
  EXPECT_THAT(msg, HasSubstr("k"));
  EXPECT_THAT(msg, HasSubstr("scale"));
}

TEST(SpecResolve, UnknownKeyForEntryWithoutKeys) {
  const std::string msg = resolve_error("identity:k=1");
  EXPECT_THAT(msg, HasSubstr("identity"));
  EXPECT_THAT(msg, HasSubstr("'k'"));
}

TEST(SpecResolve, KeyOfAnotherEntryIsUnknown) {
  // "s" is valid for qsgd but not for topk.
  const std::string msg = resolve_error("topk:k=1,s=4");
  EXPECT_THAT(msg, HasSubstr("'s'"));
  EXPECT_THAT(msg, HasSubstr("scale"));
}

TEST(SpecResolve, MissingRequiredKeyIsNamed) {
  const std::string msg = resolve_error("topk");
  EXPECT_THAT(msg, HasSubstr("compressor"));
  EXPECT_THAT(msg, HasSubstr("topk"));
  EXPECT_THAT(msg, HasSubstr("'k'"));
  // Giving only the optional key does not help.
  EXPECT_THAT(resolve_error("topk:scale=2"), HasSubstr("'k'"));
}

TEST(SpecResolve, MalformedTextIsRejectedBeforeLookup) {
  EXPECT_THROW((void)resolve(""), ecco::ConfigError);
  EXPECT_THROW((void)resolve("topk:k"), ecco::ConfigError);
  EXPECT_THROW((void)resolve("topk:=1"), ecco::ConfigError);
  EXPECT_THROW((void)resolve("topk:k=1,k=2"), ecco::ConfigError);
  EXPECT_THROW((void)resolve("topk:k=1,"), ecco::ConfigError);
}

TEST(SpecResolve, EmptyTableRejectsEveryName) {
  const std::vector<ecco::SpecEntry> none;
  EXPECT_THROW((void)ecco::resolve_spec("compressor", "topk:k=1", none), ecco::ConfigError);
}

// ---------------------------------------------------------------------------------------
// Typed getters

ecco::Spec make_spec(std::map<std::string, std::string> values) {
  return ecco::Spec("compressor", "test", std::move(values));
}

TEST(SpecGetters, ValidValues) {
  const ecco::Spec spec = make_spec({{"d", "0.25"}, {"e", "1e-3"}, {"n", "-3.5"}, {"i", "42"}, {"neg", "-7"},
                                     {"big", "9223372036854775807"}, {"t", "true"}, {"f", "false"}, {"s", "linf"}});
  EXPECT_DOUBLE_EQ(spec.get_double("d"), 0.25);
  EXPECT_DOUBLE_EQ(spec.get_double("e"), 0.001);
  EXPECT_DOUBLE_EQ(spec.get_double("n"), -3.5);
  EXPECT_DOUBLE_EQ(spec.get_double("i"), 42.0);  // an integer is a number too
  EXPECT_EQ(spec.get_int("i"), 42);
  EXPECT_EQ(spec.get_int("neg"), -7);
  EXPECT_EQ(spec.get_int("big"), INT64_MAX);
  EXPECT_TRUE(spec.get_bool("t"));
  EXPECT_FALSE(spec.get_bool("f"));
  EXPECT_EQ(spec.get_string("s"), "linf");
}

TEST(SpecGetters, ResolvedSpecValuesAreTyped) {
  const ecco::Spec spec = resolve("qsgd:s=8,biased=true");
  EXPECT_EQ(spec.get_int("s"), 8);
  EXPECT_TRUE(spec.get_bool("biased"));
  EXPECT_FALSE(resolve("qsgd").get_bool("biased"));
  EXPECT_DOUBLE_EQ(resolve("topk:k=0.01").get_double("k"), 0.01);
  EXPECT_DOUBLE_EQ(resolve("topk:k=0.01").get_double("scale"), 1.0);
}

TEST(SpecGetters, NonNumberIsADoubleError) {
  const ecco::Spec spec = make_spec({{"k", "abc"}, {"partial", "1.5x"}, {"nan", "nan"}, {"inf", "inf"}, {"huge", "1e999"}});
  const std::string msg = config_error_message([&] { (void)spec.get_double("k"); });
  EXPECT_THAT(msg, HasSubstr("compressor"));
  EXPECT_THAT(msg, HasSubstr("test"));
  EXPECT_THAT(msg, HasSubstr("'k'"));
  EXPECT_THAT(msg, HasSubstr("abc"));
  EXPECT_THAT(config_error_message([&] { (void)spec.get_double("partial"); }), HasSubstr("1.5x"));
  EXPECT_THAT(config_error_message([&] { (void)spec.get_double("nan"); }), HasSubstr("nan"));
  EXPECT_THAT(config_error_message([&] { (void)spec.get_double("inf"); }), HasSubstr("inf"));
  EXPECT_THAT(config_error_message([&] { (void)spec.get_double("huge"); }), HasSubstr("1e999"));
}

TEST(SpecGetters, NonIntegerIsAnIntError) {
  const ecco::Spec spec =
      make_spec({{"k", "1.5"}, {"word", "ten"}, {"exp", "1e3"}, {"overflow", "99999999999999999999"}, {"tail", "10x"}});
  const std::string msg = config_error_message([&] { (void)spec.get_int("k"); });
  EXPECT_THAT(msg, HasSubstr("compressor"));
  EXPECT_THAT(msg, HasSubstr("test"));
  EXPECT_THAT(msg, HasSubstr("'k'"));
  EXPECT_THAT(msg, HasSubstr("1.5"));
  EXPECT_THAT(msg, HasSubstr("integer"));
  EXPECT_THAT(config_error_message([&] { (void)spec.get_int("word"); }), HasSubstr("ten"));
  EXPECT_THAT(config_error_message([&] { (void)spec.get_int("exp"); }), HasSubstr("1e3"));
  EXPECT_THAT(config_error_message([&] { (void)spec.get_int("overflow"); }), HasSubstr("99999999999999999999"));
  EXPECT_THAT(config_error_message([&] { (void)spec.get_int("tail"); }), HasSubstr("10x"));
}

// One rule for every seed, the rule of --seed: a whole number in [0, 2^64 - 1] (issue 17:
// shuffle:seed=-1 was accepted and wrapped around while --seed -1 was refused).
TEST(SpecGetters, SeedIsAWholeNumberOf64Bits) {
  const ecco::Spec spec = make_spec({{"zero", "0"}, {"max", "18446744073709551615"}, {"neg", "-1"},
                                     {"over", "18446744073709551616"}, {"plus", "+3"}, {"frac", "1.5"}, {"empty", ""}});
  EXPECT_EQ(spec.get_seed("zero"), 0u);
  EXPECT_EQ(spec.get_seed("max"), UINT64_MAX);
  for (const char* key : {"neg", "over", "plus", "frac", "empty"}) {
    const std::string msg = config_error_message([&] { (void)spec.get_seed(key); });
    EXPECT_THAT(msg, HasSubstr("[0, 18446744073709551615]")) << key;
    EXPECT_THAT(msg, HasSubstr(std::string("'") + key + "'")) << key;
  }
  // Every seed key of the registries follows it.
  EXPECT_THROW((void)ecco::make_split(ecco::make_synthetic_classification({}), 2, "shuffle:seed=-1"),
               ecco::ConfigError);
  EXPECT_THROW((void)ecco::load_dataset("synthetic_classification:seed=-1", std::nullopt, 1), ecco::ConfigError);
  EXPECT_THROW((void)ecco::make_problem_factory("mlp:init_seed=-1"), ecco::ConfigError);
}

TEST(SpecGetters, NonBoolIsABoolError) {
  const ecco::Spec spec = make_spec({{"b", "maybe"}, {"two", "2"}});
  const std::string msg = config_error_message([&] { (void)spec.get_bool("b"); });
  EXPECT_THAT(msg, HasSubstr("compressor"));
  EXPECT_THAT(msg, HasSubstr("test"));
  EXPECT_THAT(msg, HasSubstr("'b'"));
  EXPECT_THAT(msg, HasSubstr("maybe"));
  EXPECT_THAT(config_error_message([&] { (void)spec.get_bool("two"); }), HasSubstr("'two'"));
}

TEST(SpecGetters, ResolvedSpecWithBadValueFailsOnlyInTheGetter) {
  // resolve_spec does not know types; the getter reports the bad value with the spec name.
  const ecco::Spec spec = resolve("topk:k=lots");
  EXPECT_EQ(spec.get_string("k"), "lots");
  const std::string msg = config_error_message([&] { (void)spec.get_double("k"); });
  EXPECT_THAT(msg, HasSubstr("compressor"));
  EXPECT_THAT(msg, HasSubstr("topk"));
  EXPECT_THAT(msg, HasSubstr("lots"));
}

TEST(SpecGetters, UnknownKeyIsAConfigError) {
  const ecco::Spec spec = resolve("topk:k=1");
  for (const auto& get : std::vector<void (*)(const ecco::Spec&)>{
           [](const ecco::Spec& s) { (void)s.get_string("nope"); },
           [](const ecco::Spec& s) { (void)s.get_double("nope"); },
           [](const ecco::Spec& s) { (void)s.get_int("nope"); },
           [](const ecco::Spec& s) { (void)s.get_bool("nope"); },
       }) {
    EXPECT_THAT(config_error_message([&] { get(spec); }), HasSubstr("nope"));
  }
}

TEST(SpecGetters, DefaultConstructedSpecIsEmpty) {
  const ecco::Spec spec;
  EXPECT_EQ(spec.family(), "");
  EXPECT_EQ(spec.name(), "");
  EXPECT_FALSE(spec.has("k"));
  EXPECT_EQ(spec.to_string(), "");
  EXPECT_THROW((void)spec.get_string("k"), ecco::ConfigError);
}

}  // namespace
