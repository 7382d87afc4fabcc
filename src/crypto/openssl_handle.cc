#include "crypto/openssl_handle.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/check.h"

namespace eml::crypto::internal {
namespace {

int UpRef(EVP_PKEY* p) { return EVP_PKEY_up_ref(p); }
int UpRef(X509* p) { return X509_up_ref(p); }
int UpRef(X509_CRL* p) { return X509_CRL_up_ref(p); }

}  // namespace

void EvpPkeyFree::operator()(evp_pkey_st* pkey) const { EVP_PKEY_free(pkey); }
void X509Free::operator()(x509_st* cert) const { X509_free(cert); }
void X509CrlFree::operator()(X509_crl_st* crl) const { X509_CRL_free(crl); }

template <typename T, typename Free>
Ref<T, Free>::Ref(const Ref& other) {
  if (other.ptr_ != nullptr) {
    EML_CHECK(UpRef(other.ptr_.get()) == 1);  // Only fails on a corrupted object.
    ptr_.reset(other.ptr_.get());
  }
}

template <typename T, typename Free>
Ref<T, Free>& Ref<T, Free>::operator=(const Ref& other) {
  if (this != &other) {
    Ref copy(other);
    ptr_ = std::move(copy.ptr_);
  }
  return *this;
}

template class Ref<evp_pkey_st, EvpPkeyFree>;
template class Ref<x509_st, X509Free>;
template class Ref<X509_crl_st, X509CrlFree>;

}  // namespace eml::crypto::internal
