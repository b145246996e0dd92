#include "core/error.h"

#include <gtest/gtest.h>

namespace ramsafe {
namespace {

TEST(Printable, EscapesEveryControlCharacterAndInvalidUtf8) {
  EXPECT_EQ(printable("plain text, café, 日本"), "plain text, café, 日本");
  EXPECT_EQ(printable("\x1b[31mred\x1b]0;title\x07"), "\\x1b[31mred\\x1b]0;title\\x07");
  EXPECT_EQ(printable("a\rb\nc\td\x7f"), "a\\x0db\\x0ac\\x09d\\x7f");
  // C1 controls in UTF-8 (U+009B is a one-character CSI for some terminals).
  EXPECT_EQ(printable("x\xc2\x9b"
                      "2J"),
            "x\\xc2\\x9b2J");
  // Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong '/'.
  EXPECT_EQ(printable("\x80 \xe6\x97 \xc0\xaf"), "\\x80 \\xe6\\x97 \\xc0\\xaf");
}

TEST(Printable, KeepsNewlinesAndTabsOnlyWhenAsked) {
  EXPECT_EQ(printable("line 1\nline\t2\x1b", true), "line 1\nline\t2\\x1b");
  EXPECT_EQ(printable("line 1\nline 2"), "line 1\\x0aline 2");
}

TEST(Printable, IsIdempotent) {
  std::string once = printable("\x1b\xff\n\xc2\x85 ok");
  EXPECT_EQ(printable(once), once);
}

TEST(Printable, ErrorMessagesAreAlwaysPrintable) {
  Error e(Errc::kCorrupt, "manifest is for backup \x1b[2J\x1b[Hforged\nsecond line");
  EXPECT_STREQ(e.what(), "manifest is for backup \\x1b[2J\\x1b[Hforged\nsecond line");
}

}  // namespace
}  // namespace ramsafe
