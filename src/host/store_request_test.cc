#include "host/store_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "testing/test_util.h"

namespace eml::host {
namespace {

using ::eml::testing::HasError;
using ::eml::testing::IsOk;

TEST(ParseStorePathTest, SplitsIdVersionAndFile) {
  Result<StorePath> p = ParseStorePath("/v1/store/minilm/2024.1/model.safetensors.enc");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->model_id, "minilm");
  EXPECT_EQ(p->version, "2024.1");
  EXPECT_EQ(p->name, "model.safetensors.enc");
  EXPECT_EQ(FormatStorePath(*p), "/v1/store/minilm/2024.1/model.safetensors.enc");
}

TEST(ParseStorePathTest, AcceptsManifestSignatureAndNestedFiles) {
  EXPECT_EQ(ParseStorePath("/v1/store/m/1/manifest.json")->name, "manifest.json");
  EXPECT_EQ(ParseStorePath("/v1/store/m/1/manifest.sig")->name, "manifest.sig");
  EXPECT_EQ(ParseStorePath("/v1/store/m/1/onnx/model.onnx")->name, "onnx/model.onnx");
}

TEST(ParseStorePathTest, RefusesTraversalAndEscapes) {
  for (const std::string target : {
           "/v1/store/m/1/../../etc/passwd",
           "/v1/store/m/1/a/../b",
           "/v1/store/../1/x",
           "/v1/store/m/../x",
           "/v1/store/m/1/./x",
           "/v1/store/.hidden/1/x",
           "/v1/store/m/1/%2e%2e/x",
           "/v1/store/m%2F1/1/x",
           "/v1/store/m/1/a%2fb",
           "/v1/store/m/1//x",
           "/v1/store/m/1/x/",
           "/v1/store/m/1/x?y=1",
           "/v1/store/m/1/x#f",
           "/v1/store/m/1/x\\y",
       }) {
    EXPECT_THAT(ParseStorePath(target), HasError(ErrorCode::kStoreProxyBadPath)) << target;
  }
  EXPECT_THAT(ParseStorePath(std::string("/v1/store/m/1/x\0y", 17)),
              HasError(ErrorCode::kStoreProxyBadPath));
}

TEST(ParseStorePathTest, RefusesOtherShapes) {
  for (const std::string target :
       {"", "/", "/v1/store/", "/v1/store/m", "/v1/store/m/1", "/v1/store/m/1/", "/v2/store/m/1/x",
        "v1/store/m/1/x", "http://h/v1/store/m/1/x", "/v1/store//1/x"}) {
    EXPECT_THAT(ParseStorePath(target), HasError(ErrorCode::kStoreProxyBadPath)) << target;
  }
  EXPECT_THAT(ParseStorePath("/v1/store/" + std::string(129, 'a') + "/1/x"),
              HasError(ErrorCode::kStoreProxyBadPath));
  EXPECT_THAT(ParseStorePath("/v1/store/m/1/" + std::string(kMaxStoreTargetBytes, 'a')),
              HasError(ErrorCode::kStoreProxyBadPath));
}

TEST(ParseRangeHeaderTest, ReadsOneRange) {
  Result<ByteRange> r = ParseRangeHeader("bytes=0-0");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->first, 0u);
  EXPECT_EQ(r->last, 0u);
  r = ParseRangeHeader("bytes=1048576-2097167");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->first, 1048576u);
  EXPECT_EQ(r->last, 2097167u);
  EXPECT_EQ(FormatRangeHeader(*r), "bytes=1048576-2097167");
  EXPECT_THAT(ParseRangeHeader("bytes=18446744073709551615-18446744073709551615"), IsOk());
}

TEST(ParseRangeHeaderTest, MalformedIsBadRange) {
  for (const std::string value :
       {"", "bytes", "bytes=", "bytes=5", "items=0-1", "Bytes=0-1", "bytes= 0-1", "bytes=0 -1",
        "bytes=9-3", "bytes=01-3", "bytes=0-03", "bytes=+1-3", "bytes=1--3",
        "bytes=18446744073709551616-18446744073709551617", "bytes=0-1\r\nX: y"}) {
    EXPECT_THAT(ParseRangeHeader(value), HasError(ErrorCode::kStoreProxyBadRange)) << value;
  }
  EXPECT_THAT(ParseRangeHeader("bytes=0-" + std::string(kMaxRangeHeaderBytes, '1')),
              HasError(ErrorCode::kStoreProxyBadRange));
}

TEST(ParseRangeHeaderTest, OtherFormsAreUnsupported) {
  for (const std::string value : {"bytes=0-1,4-5", "bytes=-500", "bytes=500-", "bytes=-"}) {
    EXPECT_THAT(ParseRangeHeader(value), HasError(ErrorCode::kStoreProxyRangeUnsupported)) << value;
  }
}

}  // namespace
}  // namespace eml::host
