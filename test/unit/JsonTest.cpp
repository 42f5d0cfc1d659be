//===- JsonTest.cpp - The runtime's manifest reader -----------------------===//

#include "gfl/Runtime/Json.h"

#include <gtest/gtest.h>

using namespace gfl;

TEST(Json, ParsesManifestShapes) {
  std::string error;
  auto v = json::parse(R"({"a": [1, -2.5e1, true, null], "b": {"c": "x\n\u0041"}})",
                       error);
  ASSERT_TRUE(v) << error;
  EXPECT_EQ(v->get("a")->at(1)->asNumber(), -25.0);
  EXPECT_TRUE(v->get("a")->at(2)->asBool());
  EXPECT_TRUE(v->get("a")->at(3)->isNull());
  EXPECT_EQ(v->get("b")->get("c")->asString(), "x\nA");
  EXPECT_EQ(v->get("missing"), nullptr);
  EXPECT_EQ(v->get("a")->at(9), nullptr);
}

TEST(Json, RejectsMalformedInputWithAReason) {
  for (const char *bad : {"", "{", "[1,]", "{\"a\" 1}", "\"open", "01x",
                          "[1] 2", "{\"a\":\x01}"}) {
    std::string error;
    EXPECT_FALSE(json::parse(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  std::string deep(1000, '[');
  std::string error;
  EXPECT_FALSE(json::parse(deep, error));
  EXPECT_NE(error.find("nested too deeply"), std::string::npos);
}
