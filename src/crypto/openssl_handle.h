#pragma once
// Opaque owners of OpenSSL objects, used as private members of the key and certificate
// classes of eml::crypto so that public headers need no OpenSSL include. Callers outside
// src/crypto never create or read them.
//
// Thread safety: a handle is immutable after construction; copies share the object through
// OpenSSL's reference count (thread-safe), and OpenSSL permits concurrent read-only use.

#include <memory>

struct evp_pkey_st;  // OpenSSL EVP_PKEY
struct x509_st;      // OpenSSL X509
struct X509_crl_st;  // OpenSSL X509_CRL

namespace eml::crypto::internal {

struct EvpPkeyFree {
  void operator()(evp_pkey_st* pkey) const;
};
struct X509Free {
  void operator()(x509_st* cert) const;
};
struct X509CrlFree {
  void operator()(X509_crl_st* crl) const;
};

// Ref<T, Free>: owns one reference to an OpenSSL object; copying takes another reference
// (EVP_PKEY_up_ref / X509_up_ref / X509_CRL_up_ref), so copies are cheap and never duplicate
// key material. The object is freed (and its key material wiped by OpenSSL) with the last one.
template <typename T, typename Free>
class Ref {
 public:
  Ref() = default;
  // Takes ownership of one reference to `owned` (may be null).
  explicit Ref(T* owned) : ptr_(owned) {}
  Ref(const Ref& other);
  Ref& operator=(const Ref& other);
  Ref(Ref&&) noexcept = default;
  Ref& operator=(Ref&&) noexcept = default;
  ~Ref() = default;

  T* get() const { return ptr_.get(); }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  std::unique_ptr<T, Free> ptr_;
};

using PkeyRef = Ref<evp_pkey_st, EvpPkeyFree>;
using X509Ref = Ref<x509_st, X509Free>;
using X509CrlRef = Ref<X509_crl_st, X509CrlFree>;

extern template class Ref<evp_pkey_st, EvpPkeyFree>;
extern template class Ref<x509_st, X509Free>;
extern template class Ref<X509_crl_st, X509CrlFree>;

}  // namespace eml::crypto::internal
