#pragma once
// ScopedFailingRandForTest: while alive, every OpenSSL random-byte request in the process
// fails (RAND_bytes and the DRBG behind key generation). Lets tests produce
// kCryptoRandomFailed and the key-generation failure paths. Tests only.
//
// Thread safety: not thread-safe; it replaces process-wide OpenSSL state. Use only in
// single-threaded tests, one instance at a time.

namespace eml::crypto::testing {

class ScopedFailingRandForTest {
 public:
  ScopedFailingRandForTest();
  ~ScopedFailingRandForTest();
  ScopedFailingRandForTest(const ScopedFailingRandForTest&) = delete;
  ScopedFailingRandForTest& operator=(const ScopedFailingRandForTest&) = delete;

 private:
  const void* previous_;
};

}  // namespace eml::crypto::testing
