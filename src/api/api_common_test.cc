#include "api/api_common.h"

#include <gtest/gtest.h>

namespace herald::api {
namespace {

TEST(JsonNestingDepthTest, CountsOnlyStructureOutsideStrings) {
  EXPECT_EQ(JsonNestingDepth("{}", 10), 1);
  EXPECT_EQ(JsonNestingDepth(R"({"a":[{"b":[]}]})", 10), 4);
  EXPECT_EQ(JsonNestingDepth(R"({"a":"[[[[[[\"[[["})", 10), 1);
  EXPECT_EQ(JsonNestingDepth(std::string(100, '['), 10), 11);
}

TEST(ParseJsonObjectTest, AcceptsObjectsAndEmptyBody) {
  nlohmann::json j;
  EXPECT_FALSE(ParseJsonObject(R"({"a":1})", &j));
  EXPECT_EQ(j["a"], 1);
  EXPECT_FALSE(ParseJsonObject("  ", &j));
  EXPECT_TRUE(j.is_object());
  EXPECT_TRUE(j.empty());
}

TEST(ParseJsonObjectTest, RejectsOtherInput) {
  nlohmann::json j;
  auto e = ParseJsonObject("[]", &j);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "BadRequestException");
  EXPECT_EQ(e->message, "The request body must be a JSON object.");
  e = ParseJsonObject("{\"a\":", &j);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "The request body is not valid JSON.");
  e = ParseJsonObject("{\"a\":\"\xff\"}", &j);  // invalid UTF-8
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "The request body is not valid JSON.");
  e = ParseJsonObject("{} {}", &j);
  ASSERT_TRUE(e);
}

TEST(DumpJsonTest, ReplacesInvalidUtf8InsteadOfThrowing) {
  nlohmann::json j = {{"message", std::string("bad \xff byte")}};
  EXPECT_EQ(DumpJson(j), "{\"message\":\"bad \xEF\xBF\xBD byte\"}");
}

TEST(TruncatedTest, CutsLongText) {
  EXPECT_EQ(Truncated("abc", 5), "abc");
  EXPECT_EQ(Truncated("abcdefgh", 5), "abcde...");
}

}  // namespace
}  // namespace herald::api
