//===- Sha256Test.cpp - SHA-256 against the FIPS 180-4 test vectors ------===//

#include "gfl/Runtime/Sha256.h"

#include <gtest/gtest.h>

#include <string>

using namespace gfl;

namespace {

std::string hexOf(const std::string &text) {
  return Sha256::hex(Sha256::of(text.data(), text.size()));
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(hexOf(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
            "7852b855");
  EXPECT_EQ(hexOf("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff"
            "61f20015ad");
  EXPECT_EQ(hexOf("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hexOf(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Feeding the bytes in pieces of any size gives the one-shot digest (the
// block buffering and the 55/56/64-byte padding edges).
TEST(Sha256, IncrementalEqualsOneShot) {
  std::string text;
  for (int i = 0; i < 300; ++i)
    text += static_cast<char>(i * 7 + 3);
  for (size_t len : {0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 300})
    for (size_t piece : {1, 3, 64, 100}) {
      Sha256 h;
      for (size_t at = 0; at < len; at += piece)
        h.update(text.data() + at, std::min(piece, len - at));
      EXPECT_EQ(Sha256::hex(h.finish()),
                Sha256::hex(Sha256::of(text.data(), len)))
          << len << " in pieces of " << piece;
    }
}

} // namespace
