#include "core/config/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/io/paths.h"
#include "test/unit/test_util.h"

namespace ramsafe::config {
namespace {

using test::config_error;

ParsedConfig parse(const std::string& text) {
  return parse_text(text, "test.conf", "/nowhere");
}

std::string value_of(const ParsedConfig& parsed, const std::string& name) {
  auto it = parsed.settings.find(name);
  return it == parsed.settings.end() ? "(unset)" : it->second.value;
}

struct ValueCase {
  std::string line;
  std::string expected;
};

void PrintTo(const ValueCase& c, std::ostream* os) {
  *os << test::printable_param(c.line);
}

class ConfigValueTest : public testing::TestWithParam<ValueCase> {};

TEST_P(ConfigValueTest, ParsesValue) {
  ParsedConfig parsed = parse(GetParam().line);
  ASSERT_EQ(parsed.settings.size(), 1u);
  EXPECT_EQ(value_of(parsed, "a"), GetParam().expected) << GetParam().line;
}

INSTANTIATE_TEST_SUITE_P(AssignmentForms, ConfigValueTest,
                         testing::Values(ValueCase{"a = 1", "1"}, ValueCase{"a 1", "1"},
                                         ValueCase{"a=1", "1"}, ValueCase{"a\t=\t1\n", "1"},
                                         ValueCase{"  a = 1  ", "1"}, ValueCase{"a = 1\r\n", "1"},
                                         ValueCase{"A = 1", "1"}, ValueCase{"a 'x'", "x"},
                                         ValueCase{"a='x'", "x"}));

INSTANTIATE_TEST_SUITE_P(UnquotedValues, ConfigValueTest,
                         testing::Values(ValueCase{"a = -1", "-1"}, ValueCase{"a = +5", "+5"},
                                         ValueCase{"a = 10MB", "10MB"},
                                         ValueCase{"a = 0x1F", "0x1F"},
                                         ValueCase{"a = 0xffkB", "0xffkB"},
                                         ValueCase{"a = 0.5", "0.5"}, ValueCase{"a = .5", ".5"},
                                         ValueCase{"a = 5.", "5."}, ValueCase{"a = -.5e3", "-.5e3"},
                                         ValueCase{"a = 1.5E-3", "1.5E-3"},
                                         ValueCase{"a = on", "on"}, ValueCase{"a = OFF", "OFF"},
                                         ValueCase{"a = en_US.UTF-8", "en_US.UTF-8"},
                                         ValueCase{"a = pg_catalog.english", "pg_catalog.english"},
                                         ValueCase{"a = abc/def:ghi-jk.l", "abc/def:ghi-jk.l"},
                                         ValueCase{"a = z\xc3\xbcrich", "z\xc3\xbcrich"}));

INSTANTIATE_TEST_SUITE_P(
    QuotedValues, ConfigValueTest,
    testing::Values(ValueCase{"a = 'hello world'", "hello world"}, ValueCase{"a = ''", ""},
                    ValueCase{"a = 'it''s'", "it's"}, ValueCase{"a = ''''", "'"},
                    ValueCase{"a = 'it\\'s'", "it's"}, ValueCase{"a = '\\''''", "''"},
                    ValueCase{"a = 'a\\nb'", "a\nb"}, ValueCase{"a = 'a\\tb'", "a\tb"},
                    ValueCase{"a = 'a\\bb'", "a\bb"}, ValueCase{"a = 'a\\fb'", "a\fb"},
                    ValueCase{"a = 'a\\rb'", "a\rb"}, ValueCase{"a = '\\101'", "A"},
                    ValueCase{"a = '\\1012'", "A2"}, ValueCase{"a = '\\7x'", "\ax"},
                    ValueCase{"a = '\\18'",
                              "\x01"
                              "8"},
                    ValueCase{"a = '\\\\'", "\\"}, ValueCase{"a = 'C:\\\\dir'", "C:\\dir"},
                    ValueCase{"a = '\\q'", "q"}, ValueCase{"a = '\\\"'", "\""},
                    ValueCase{"a = 'cut\\0here'", "cut"},
                    ValueCase{"a = '# not a comment'", "# not a comment"},
                    ValueCase{"a = 'z\xc3\xbcrich'", "z\xc3\xbcrich"},
                    ValueCase{"a = 'tab\there'", "tab\there"},
                    ValueCase{"a = '\"$user\", public'", "\"$user\", public"}));

INSTANTIATE_TEST_SUITE_P(
    Comments, ConfigValueTest,
    testing::Values(ValueCase{"a = 'x' # comment", "x"}, ValueCase{"a = 1# comment", "1"},
                    ValueCase{"a = 'x'#'y'", "x"}, ValueCase{"# only\n\n   \na = 2\n#", "2"},
                    ValueCase{"a = 'x'   # it's a comment with 'quotes'", "x"}));

TEST(ConfigTest, NamesAreLowerCasedAndMayHaveOneDot) {
  ParsedConfig parsed = parse("RAMSAFE.Local_Dir = '/x'\nShared_Buffers 128MB\n");
  EXPECT_EQ(value_of(parsed, "ramsafe.local_dir"), "/x");
  EXPECT_EQ(parsed.settings.at("ramsafe.local_dir").name, "ramsafe.local_dir");
  EXPECT_EQ(value_of(parsed, "shared_buffers"), "128MB");
}

TEST(ConfigTest, LocationsCountCommentsAndBlankLines) {
  ParsedConfig parsed = parse(
      "# heading\n"
      "\n"
      "a = 1\n"
      "   # indented comment\n"
      "b = 'two'   # trailing\n"
      "\n"
      "c = 3");  // no final newline
  EXPECT_EQ(parsed.settings.at("a").where.describe(), "test.conf:3");
  EXPECT_EQ(parsed.settings.at("b").where.describe(), "test.conf:5");
  EXPECT_EQ(parsed.settings.at("c").where.describe(), "test.conf:7");
  EXPECT_EQ(parsed.settings.at("c").where.file, "test.conf");
  EXPECT_EQ(parsed.settings.at("c").where.line, 7);
}

TEST(ConfigTest, LastAssignmentWins) {
  ParsedConfig parsed = parse("a = 1\nb = 1\nA = 2\n");
  EXPECT_EQ(value_of(parsed, "a"), "2");
  EXPECT_EQ(parsed.settings.at("a").where.line, 3);
  EXPECT_EQ(value_of(parsed, "b"), "1");
}

TEST(ConfigTest, EmptyTextHasNoSettings) {
  EXPECT_TRUE(parse("").settings.empty());
  EXPECT_TRUE(parse("\n\n# nothing\n").settings.empty());
  EXPECT_TRUE(parse("").files_read.empty());
}

struct SyntaxErrorCase {
  std::string text;
  std::string message;
};

void PrintTo(const SyntaxErrorCase& c, std::ostream* os) {
  *os << test::printable_param(c.text);
}

class ConfigSyntaxErrorTest : public testing::TestWithParam<SyntaxErrorCase> {};

TEST_P(ConfigSyntaxErrorTest, NamesFileLineAndToken) {
  EXPECT_EQ(config_error([] { parse(GetParam().text); }), GetParam().message) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    All, ConfigSyntaxErrorTest,
    testing::Values(
        SyntaxErrorCase{"a = \n", "test.conf:1: syntax error near end of line"},
        SyntaxErrorCase{"a =", "test.conf:1: syntax error near end of line"},
        SyntaxErrorCase{"a\n", "test.conf:1: syntax error near end of line"},
        SyntaxErrorCase{"a", "test.conf:1: syntax error near end of line"},
        SyntaxErrorCase{"\n\n# c\nb = \n", "test.conf:4: syntax error near end of line"},
        SyntaxErrorCase{"= 1", "test.conf:1: syntax error near \"=\""},
        SyntaxErrorCase{"a = = 1", "test.conf:1: syntax error near \"=\""},
        SyntaxErrorCase{"a = 1 2", "test.conf:1: syntax error near \"2\""},
        SyntaxErrorCase{"a = 'x' 'y'", "test.conf:1: syntax error near \"'y'\""},
        SyntaxErrorCase{"a = 'x'y", "test.conf:1: syntax error near \"y\""},
        SyntaxErrorCase{"ok = 1\na = 'unterminated\n", "test.conf:2: syntax error near \"'\""},
        SyntaxErrorCase{"a = 'ends in backslash\\'", "test.conf:1: syntax error near \"'\""},
        SyntaxErrorCase{"a = 'two\nlines'", "test.conf:1: syntax error near \"'\""},
        SyntaxErrorCase{"a = /abs/path", "test.conf:1: syntax error near \"/\""},
        SyntaxErrorCase{"a = \"double\"", "test.conf:1: syntax error near \"\\\"\""},
        SyntaxErrorCase{"a.b.c = 1", "test.conf:1: syntax error near \"a.b.c\""},
        SyntaxErrorCase{"a-b = 1", "test.conf:1: syntax error near \"a-b\""},
        SyntaxErrorCase{"1a = 2", "test.conf:1: syntax error near \"1a\""},
        SyntaxErrorCase{"'quoted' = 1", "test.conf:1: syntax error near \"'quoted'\""},
        SyntaxErrorCase{"a = 1.5GB", "test.conf:1: syntax error near \"GB\""},
        SyntaxErrorCase{"a = 127.0.0.1", "test.conf:1: syntax error near \".0\""},
        SyntaxErrorCase{"a = 1e5", "test.conf:1: syntax error near \"5\""},
        SyntaxErrorCase{"a = -", "test.conf:1: syntax error near \"-\""},
        SyntaxErrorCase{"a = \f", "test.conf:1: syntax error near \"\\x0c\""},
        SyntaxErrorCase{"a = 1;", "test.conf:1: syntax error near \";\""},
        SyntaxErrorCase{"include\n", "test.conf:1: syntax error near end of line"}));

TEST(ConfigTest, QuoteForMessageEscapes) {
  EXPECT_EQ(quote_for_message("abc"), "\"abc\"");
  EXPECT_EQ(quote_for_message(""), "\"\"");
  EXPECT_EQ(quote_for_message("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quote_for_message("a\nb\x7f"), "\"a\\x0ab\\x7f\"");
  EXPECT_EQ(quote_for_message("z\xc3\xbcrich"), "\"z\xc3\xbcrich\"");
}

TEST(ConfigFileTest, ReadsAFileAndListsIt) {
  test::ScratchDir dir;
  std::string main = dir.write("main.conf", "a = 1\nb = 'two'\n");
  ParsedConfig parsed = parse_file(main);
  EXPECT_EQ(value_of(parsed, "a"), "1");
  EXPECT_EQ(parsed.settings.at("b").where.describe(), main + ":2");
  EXPECT_EQ(parsed.files_read, std::vector<std::string>{main});
}

TEST(ConfigFileTest, PathsAreCanonicalized) {
  test::ScratchDir dir;
  std::string main = dir.write("main.conf", "a = 1\n");
  ParsedConfig parsed = parse_file(dir.path() + "//sub/.././main.conf");
  EXPECT_EQ(parsed.files_read, std::vector<std::string>{main});
  EXPECT_EQ(parsed.settings.at("a").where.file, main);
}

TEST(ConfigFileTest, MissingFileIsAnError) {
  test::ScratchDir dir;
  std::string missing = dir.path() + "/missing.conf";
  EXPECT_EQ(config_error([&] { parse_file(missing); }),
            "could not open configuration file \"" + missing + "\": No such file or directory");
  EXPECT_EQ(config_error([&] { parse_file(dir.path()); }),
            "could not open configuration file \"" + dir.path() + "\": Is a directory");
}

TEST(ConfigFileTest, SyntaxErrorInIncludedFileNamesThatFile) {
  test::ScratchDir dir;
  std::string sub = dir.write("sub.conf", "x = 1\ny = \n");
  std::string main = dir.write("main.conf", "include 'sub.conf'\n");
  EXPECT_EQ(config_error([&] { parse_file(main); }), sub + ":2: syntax error near end of line");
}

TEST(ConfigIncludeTest, RelativeIncludesResolveAgainstTheIncludingFile) {
  test::ScratchDir dir;
  std::string main = dir.write("main.conf",
                               "a = main\n"
                               "include 'conf/one.conf'\n"
                               "z = main\n");
  std::string one = dir.write("conf/one.conf", "b = one\ninclude = 'two.conf'\n");
  std::string two = dir.write("conf/two.conf", "c = two\ninclude '" + dir.path() + "/abs.conf'\n");
  std::string abs = dir.write("abs.conf", "d = abs\n");
  ParsedConfig parsed = parse_file(main);
  EXPECT_EQ(value_of(parsed, "a"), "main");
  EXPECT_EQ(value_of(parsed, "b"), "one");
  EXPECT_EQ(value_of(parsed, "c"), "two");
  EXPECT_EQ(value_of(parsed, "d"), "abs");
  EXPECT_EQ(value_of(parsed, "z"), "main");
  EXPECT_EQ(parsed.settings.at("c").where.describe(), two + ":1");
  EXPECT_EQ(parsed.settings.at("z").where.describe(), main + ":3");
  EXPECT_EQ(parsed.files_read, (std::vector<std::string>{main, one, two, abs}));
}

TEST(ConfigIncludeTest, IncludedValuesApplyInReadingOrder) {
  test::ScratchDir dir;
  std::string sub = dir.write("sub.conf", "x = sub\ny = sub\n");
  std::string main = dir.write("main.conf", "x = before\ninclude 'sub.conf'\ny = after\n");
  ParsedConfig parsed = parse_file(main);
  EXPECT_EQ(value_of(parsed, "x"), "sub");
  EXPECT_EQ(parsed.settings.at("x").where.describe(), sub + ":1");
  EXPECT_EQ(value_of(parsed, "y"), "after");
  EXPECT_EQ(parsed.settings.at("y").where.describe(), main + ":3");
}

TEST(ConfigIncludeTest, DirectiveNamesAreCaseInsensitive) {
  test::ScratchDir dir;
  dir.write("a.conf", "a = 1\n");
  dir.write("d/b.conf", "b = 2\n");
  std::string main =
      dir.write("main.conf", "INCLUDE 'a.conf'\nInclude_If_Exists 'none.conf'\nINCLUDE_DIR 'd'\n");
  ParsedConfig parsed = parse_file(main);
  EXPECT_EQ(value_of(parsed, "a"), "1");
  EXPECT_EQ(value_of(parsed, "b"), "2");
  EXPECT_EQ(parsed.settings.count("include"), 0u);
}

TEST(ConfigIncludeTest, MissingIncludeNamesIncludingFileAndPath) {
  test::ScratchDir dir;
  std::string main = dir.write("main.conf", "a = 1\ninclude 'missing.conf'\n");
  EXPECT_EQ(config_error([&] { parse_file(main); }),
            main + ":2: could not open configuration file \"" + dir.path() +
                "/missing.conf\": No such file or directory");
}

TEST(ConfigIncludeTest, IncludeIfExistsSkipsAMissingFile) {
  test::ScratchDir dir;
  std::string present = dir.write("present.conf", "b = 2\n");
  std::string main = dir.write("main.conf",
                               "include_if_exists 'missing.conf'\n"
                               "include_if_exists 'no/such/dir/x.conf'\n"
                               "include_if_exists = 'present.conf'\n"
                               "a = 1\n");
  ParsedConfig parsed = parse_file(main);
  EXPECT_EQ(value_of(parsed, "a"), "1");
  EXPECT_EQ(value_of(parsed, "b"), "2");
  EXPECT_EQ(parsed.files_read, (std::vector<std::string>{main, present}));
}

TEST(ConfigIncludeTest, IncludeOfADirectoryIsAnError) {
  test::ScratchDir dir;
  dir.mkdir("d");
  std::string main = dir.write("main.conf", "include 'd'\n");
  EXPECT_EQ(
      config_error([&] { parse_file(main); }),
      main + ":1: could not open configuration file \"" + dir.path() + "/d\": Is a directory");
}

TEST(ConfigIncludeTest, EmptyIncludeNamesAreErrors) {
  test::ScratchDir dir;
  std::string main = dir.write("main.conf", "include ''\n");
  EXPECT_EQ(config_error([&] { parse_file(main); }),
            main + ":1: empty configuration file name: \"\"");
  main = dir.write("main.conf", "\ninclude_if_exists ' '\n");
  EXPECT_EQ(config_error([&] { parse_file(main); }),
            main + ":2: empty configuration file name: \" \"");
  main = dir.write("main.conf", "include_dir ''\n");
  EXPECT_EQ(config_error([&] { parse_file(main); }),
            main + ":1: empty configuration directory name: \"\"");
}

TEST(ConfigIncludeTest, IncludeDirReadsConfFilesInNameOrder) {
  test::ScratchDir dir;
  std::string conf_d = dir.mkdir("conf.d");
  std::string b = dir.write("conf.d/10-b.conf", "last = b\nb = 1\n");
  std::string a = dir.write("conf.d/02-a.conf", "last = a\na = 1\n");
  std::string upper = dir.write("conf.d/Z.conf", "last = Z\n");  // 'Z' sorts before 'a'
  std::string lower = dir.write("conf.d/a.conf", "last = lower_a\n");
  dir.write("conf.d/.hidden.conf", "hidden = 1\n");
  dir.write("conf.d/.conf", "dotconf = 1\n");
  dir.write("conf.d/backup.conf~", "tilde = 1\n");
  dir.write("conf.d/upper.CONF", "uppercase_suffix = 1\n");
  dir.write("conf.d/notes.txt", "txt = 1\n");
  dir.write("conf.d/sub.conf/inner.conf", "inner = 1\n");  // a directory named *.conf
  std::string target = dir.write("elsewhere/linked", "linked = 1\n");
  ASSERT_EQ(::symlink(target.c_str(), (conf_d + "/50-link.conf").c_str()), 0);
  std::string main = dir.write("main.conf", "last = main\ninclude_dir 'conf.d'\n");

  ParsedConfig parsed = parse_file(main);
  EXPECT_EQ(value_of(parsed, "last"), "lower_a");
  EXPECT_EQ(value_of(parsed, "a"), "1");
  EXPECT_EQ(value_of(parsed, "b"), "1");
  EXPECT_EQ(value_of(parsed, "linked"), "1");
  for (const char* skipped : {"hidden", "dotconf", "tilde", "uppercase_suffix", "txt", "inner"}) {
    EXPECT_EQ(parsed.settings.count(skipped), 0u) << skipped;
  }
  EXPECT_EQ(parsed.files_read,
            (std::vector<std::string>{main, a, b, conf_d + "/50-link.conf", upper, lower}));
}

TEST(ConfigIncludeTest, IncludeDirWithAbsolutePathAndIncludesInside) {
  test::ScratchDir dir;
  dir.write("conf.d/x.conf", "include '../extra/y.conf'\n");
  std::string y = dir.write("extra/y.conf", "y = 1\n");
  std::string main = dir.write("etc/main.conf", "include_dir '" + dir.path() + "/conf.d/'\n");
  ParsedConfig parsed = parse_file(main);
  EXPECT_EQ(parsed.settings.at("y").where.file, y);
}

TEST(ConfigIncludeTest, EmptyIncludeDirIsFine) {
  test::ScratchDir dir;
  dir.mkdir("empty.d");
  std::string main = dir.write("main.conf", "include_dir 'empty.d'\na = 1\n");
  EXPECT_EQ(value_of(parse_file(main), "a"), "1");
}

TEST(ConfigIncludeTest, MissingIncludeDirIsAnError) {
  test::ScratchDir dir;
  std::string main = dir.write("main.conf", "include_dir 'missing.d'\n");
  EXPECT_EQ(config_error([&] { parse_file(main); }),
            main + ":1: could not open configuration directory \"" + dir.path() +
                "/missing.d\": No such file or directory");
  dir.write("plain", "");
  main = dir.write("main.conf", "include_dir 'plain'\n");
  EXPECT_EQ(config_error([&] { parse_file(main); }),
            main + ":1: could not open configuration directory \"" + dir.path() +
                "/plain\": Not a directory");
}

TEST(ConfigIncludeTest, SelfIncludeIsACycle) {
  test::ScratchDir dir;
  std::string main = dir.write("main.conf", "a = 1\ninclude 'main.conf'\n");
  EXPECT_EQ(config_error([&] { parse_file(main); }),
            main + ":2: configuration file include cycle: " + main + " -> " + main);
}

TEST(ConfigIncludeTest, IndirectIncludeCycle) {
  test::ScratchDir dir;
  std::string main = dir.write("main.conf", "include 'a.conf'\n");
  std::string a = dir.write("a.conf", "include 'sub/b.conf'\n");
  std::string b = dir.write("sub/b.conf", "\ninclude '../a.conf'\n");
  EXPECT_EQ(config_error([&] { parse_file(main); }),
            b + ":2: configuration file include cycle: " + a + " -> " + b + " -> " + a);
}

TEST(ConfigIncludeTest, CycleThroughIncludeDir) {
  test::ScratchDir dir;
  std::string main = dir.write("main.conf", "include_dir 'conf.d'\n");
  std::string back = dir.write("conf.d/back.conf", "include '../main.conf'\n");
  EXPECT_EQ(config_error([&] { parse_file(main); }),
            back + ":1: configuration file include cycle: " + main + " -> " + back + " -> " + main);
}

TEST(ConfigIncludeTest, CycleThroughASymlinkIsFoundByIdentity) {
  test::ScratchDir dir;
  std::string main = dir.write("main.conf", "include 'alias.conf'\n");
  std::string alias = dir.path() + "/alias.conf";
  ASSERT_EQ(::symlink(main.c_str(), alias.c_str()), 0);
  EXPECT_EQ(config_error([&] { parse_file(main); }),
            main + ":1: configuration file include cycle: " + main + " -> " + alias);
}

TEST(ConfigIncludeTest, IncludingTheSameFileTwiceIsNotACycle) {
  test::ScratchDir dir;
  std::string common = dir.write("common.conf", "n = 1\n");
  std::string main =
      dir.write("main.conf", "include 'common.conf'\nn = 2\ninclude './common.conf'\n");
  ParsedConfig parsed = parse_file(main);
  EXPECT_EQ(value_of(parsed, "n"), "1");
  EXPECT_EQ(parsed.files_read, (std::vector<std::string>{main, common}));
}

// f0 includes f1 includes ... f<n>; PostgreSQL allows ten levels below the outer file.
std::string write_include_chain(const test::ScratchDir& dir, int levels) {
  for (int i = 0; i < levels; ++i) {
    dir.write("f" + std::to_string(i) + ".conf", "level" + std::to_string(i) + " = 1\ninclude 'f" +
                                                     std::to_string(i + 1) + ".conf'\n");
  }
  dir.write("f" + std::to_string(levels) + ".conf", "deepest = 1\n");
  return dir.path() + "/f0.conf";
}

TEST(ConfigIncludeTest, TenLevelsOfNestingAreAllowed) {
  test::ScratchDir dir;
  ParsedConfig parsed = parse_file(write_include_chain(dir, 10));
  EXPECT_EQ(value_of(parsed, "deepest"), "1");
  EXPECT_EQ(parsed.files_read.size(), 11u);
}

TEST(ConfigIncludeTest, ElevenLevelsOfNestingAreTooDeep) {
  test::ScratchDir dir;
  std::string top = write_include_chain(dir, 11);
  EXPECT_EQ(config_error([&] { parse_file(top); }),
            dir.path() + "/f10.conf:2: could not open configuration file \"" + dir.path() +
                "/f11.conf\": maximum nesting depth (10) exceeded");
}

TEST(ConfigIncludeTest, ParseTextResolvesIncludesAgainstBaseDir) {
  test::ScratchDir dir;
  std::string sub = dir.write("sub.conf", "b = 2\n");
  ParsedConfig parsed = parse_text("a = 1\ninclude 'sub.conf'\n", "inline", dir.path());
  EXPECT_EQ(value_of(parsed, "b"), "2");
  EXPECT_EQ(parsed.settings.at("a").where.describe(), "inline:1");
  EXPECT_EQ(parsed.files_read, std::vector<std::string>{sub});
  EXPECT_EQ(config_error([&] { parse_text("\ninclude 'nope.conf'\n", "inline", dir.path()); }),
            "inline:2: could not open configuration file \"" + dir.path() +
                "/nope.conf\": No such file or directory");
}

// The sample of the newest PostgreSQL installed (15 on the host, 17 or 18 in a
// scripts/pgenv root): the parser must read every major's.
std::string newest_sample() {
  std::string best;
  int best_major = 0;
  if (path_exists("/usr/share/postgresql"))
    for (const auto& name : list_dir("/usr/share/postgresql")) {
      std::string path = "/usr/share/postgresql/" + name + "/postgresql.conf.sample";
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos ||
          name.size() > 3 || !path_exists(path))
        continue;
      if (std::stoi(name) > best_major) {
        best_major = std::stoi(name);
        best = path;
      }
    }
  return best.empty() ? "/usr/share/postgresql/15/postgresql.conf.sample" : best;
}

const std::string kSamplePath = newest_sample();

TEST(PostgresqlConfTest, ParsesTheShippedSample) {
  if (!path_exists(kSamplePath)) GTEST_SKIP() << kSamplePath << " is not installed";
  ParsedConfig parsed = parse_file(kSamplePath);
  EXPECT_EQ(parsed.files_read, std::vector<std::string>{kSamplePath});
}

// What initdb and pg_createcluster write: the sample with every commented-out setting
// enabled (as initdb does for the ones it chooses) plus Debian's own lines.
TEST(PostgresqlConfTest, ParsesEveryCommentedOutSettingOfTheSample) {
  if (!path_exists(kSamplePath)) GTEST_SKIP() << kSamplePath << " is not installed";
  std::ifstream in(kSamplePath);
  std::stringstream enabled;
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    // "#name = value  # comment" with a lower-case name, but not the include directives.
    size_t name_end = line.find_first_not_of("abcdefghijklmnopqrstuvwxyz_", 1);
    bool is_setting = line.size() > 1 && line[0] == '#' && name_end != 1 &&
                      name_end != std::string::npos &&
                      line.find_first_not_of(" \t", name_end) == line.find('=', name_end) &&
                      line.compare(1, 7, "include") != 0;
    if (is_setting) {
      names.push_back(line.substr(1, name_end - 1));
      enabled << line.substr(1) << "\n";
    } else {
      enabled << line << "\n";
    }
  }
  ASSERT_GT(names.size(), 250u);
  test::ScratchDir dir;
  dir.write("conf.d/ramsafe.conf", "ramsafe.local_dir = '/var/backups/ramsafe'\n");
  std::string conf =
      dir.write("postgresql.conf", enabled.str() +
                                       "data_directory = '/var/lib/postgresql/15/main'\n"
                                       "hba_file = '/etc/postgresql/15/main/pg_hba.conf'\n"
                                       "external_pid_file = '/var/run/postgresql/15-main.pid'\n"
                                       "unix_socket_directories = '/var/run/postgresql'\n"
                                       "ssl_cert_file = '/etc/ssl/certs/ssl-cert-snakeoil.pem'\n"
                                       "max_connections = 100\n"
                                       "shared_buffers = 128MB\n"
                                       "dynamic_shared_memory_type = posix\n"
                                       "max_wal_size = 1GB\n"
                                       "log_line_prefix = '%m [%p] %q%u@%d '\n"
                                       "log_timezone = 'Etc/UTC'\n"
                                       "cluster_name = '15/main'\n"
                                       "datestyle = 'iso, mdy'\n"
                                       "lc_messages = 'C.UTF-8'\n"
                                       "default_text_search_config = 'pg_catalog.english'\n"
                                       "include_dir = 'conf.d'\n");
  ParsedConfig parsed = parse_file(conf);
  for (const auto& name : names) EXPECT_EQ(parsed.settings.count(name), 1u) << name;
  EXPECT_EQ(value_of(parsed, "shared_buffers"), "128MB");
  EXPECT_EQ(value_of(parsed, "datestyle"), "iso, mdy");
  EXPECT_EQ(value_of(parsed, "search_path"), "\"$user\", public");
  EXPECT_EQ(value_of(parsed, "cluster_name"), "15/main");
  EXPECT_EQ(value_of(parsed, "ramsafe.local_dir"), "/var/backups/ramsafe");
  EXPECT_EQ(parsed.files_read.size(), 2u);
}

}  // namespace
}  // namespace ramsafe::config
