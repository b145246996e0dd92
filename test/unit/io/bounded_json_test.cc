#include "core/io/bounded_json.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace ramsafe {
namespace {

std::string nested_arrays(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(BoundedJson, DepthIsCountedOnTheBytes) {
  EXPECT_EQ(json_depth("{}", 2, 64), 1u);
  EXPECT_EQ(json_depth(R"({"a": [1, {"b": "[[[[{{{{"}]})", 25, 64), 3u)
      << "brackets inside strings do not count";
  EXPECT_EQ(json_depth(R"(["\"[[["])", 9, 64), 1u) << "an escaped quote does not end a string";
  std::string deep = nested_arrays(200000);
  EXPECT_EQ(json_depth(deep.data(), deep.size(), 64), 65u) << "stops past the limit";
}

// Issue 14, attack 4: a manifest nested 200,000 arrays deep crashed every reader.
TEST(BoundedJson, DeepDocumentsAreRefusedBeforeParsing) {
  std::string deep = nested_arrays(200000);
  try {
    parse_bounded_json(deep, {1u << 20}, "manifest.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCorrupt);
    EXPECT_STREQ(e.what(), "manifest.json is nested deeper than 64 levels; refusing to parse it");
  }
  EXPECT_FALSE(try_parse_bounded_json(deep, {1u << 20}).has_value());
  EXPECT_TRUE(try_parse_bounded_json(nested_arrays(64), {1u << 20}).has_value());
  EXPECT_FALSE(try_parse_bounded_json(nested_arrays(65), {1u << 20}).has_value());
}

TEST(BoundedJson, LargeDocumentsAreRefusedBeforeParsing) {
  std::string big = "\"" + std::string(2000, 'x') + "\"";
  EXPECT_THROW(parse_bounded_json(big, {1000}, "x"), Error);
  EXPECT_FALSE(try_parse_bounded_json(big, {1000}).has_value());
  EXPECT_EQ(parse_bounded_json(big, {4000}, "x").get<std::string>().size(), 2000u);
}

TEST(BoundedJson, NotJsonIsCorruptNamingTheSource) {
  try {
    parse_bounded_json("{\"a\": \x1b[2J", {100}, "the file");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCorrupt);
    EXPECT_EQ(std::string(e.what()).rfind("the file is not valid JSON (", 0), 0u) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\x1b'), std::string::npos);
  }
}

TEST(BoundedJson, PrintableDumpEscapesWhatATerminalActsOn) {
  nlohmann::json j = {{"id",
                       "\x1b[31m\x7f\xc2\x9b"
                       "café"}};
  EXPECT_EQ(dump_printable_json(j), R"({"id":"\u001b[31m\u007f\u009bcafé"})");
  EXPECT_EQ(nlohmann::json::parse(dump_printable_json(j)), j) << "still the same JSON";
  nlohmann::json bad = {{"x", std::string("\xff")}};
  EXPECT_NO_THROW(dump_printable_json(bad)) << "invalid UTF-8 is replaced, not thrown";
}

}  // namespace
}  // namespace ramsafe
