// RAND_set_rand_method is deprecated in OpenSSL 3.0 but is still honoured by RAND_bytes and
// RAND_priv_bytes (which key generation uses); it is the simplest way to make the CSPRNG fail
// on purpose, and it is confined to this test helper.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "crypto/testing/failing_rand.h"

#include <openssl/rand.h>

#include "common/check.h"

namespace eml::crypto::testing {
namespace {

int FailBytes(unsigned char*, int) { return 0; }
int FailStatus() { return 0; }

const RAND_METHOD kFailingMethod = {
    /*seed=*/nullptr, /*bytes=*/FailBytes,      /*cleanup=*/nullptr,
    /*add=*/nullptr,  /*pseudorand=*/FailBytes, /*status=*/FailStatus,
};

}  // namespace

ScopedFailingRandForTest::ScopedFailingRandForTest() : previous_(RAND_get_rand_method()) {
  EML_CHECK(RAND_set_rand_method(&kFailingMethod) == 1);
}

ScopedFailingRandForTest::~ScopedFailingRandForTest() {
  EML_CHECK(RAND_set_rand_method(static_cast<const RAND_METHOD*>(previous_)) == 1);
}

}  // namespace eml::crypto::testing
