#pragma once
// Posture: reads untrusted bytes: kms-key.json as the model store returns it (at most
// keys::kms::kMaxKmsKeyFileBytes; its size and SHA-256 must equal the signed manifest's entry
// before it is parsed by keys/kms/key_file.h, fuzz target keys_kms_key_file), and the KMS answer
// relayed by the host (keys/kms/kms_messages.h, fuzz target keys_kms_response; the
// CiphertextForRecipient by keys/kms/cms_unwrap.h, fuzz target keys_kms_cms).
//
// eml::enclave::KmsDataKeySource: the data key of a package packed with
// `ephemeralml model pack --kms-key ARN` (DESIGN.md section 6.4; docs/keybroker.md, "AWS KMS
// instead of the broker"). For each DataKey call:
//   1. the manifest's key_id must be "kms:" + ARN and the manifest must list kms-key.json with
//      role "key-wrap"; the file is fetched from the store, checked against that entry and
//      parsed, and its key_arn must be the manifest's ARN;
//   2. a fresh RSA-2048 key pair, in memory only (OpenSSL clears the private key when freed,
//      at the end of the call);
//   3. EvidenceSource::Attest(public_key = its SubjectPublicKeyInfo DER, no nonce, no
//      user_data): KMS checks this document against the key policy's
//      kms:RecipientAttestation conditions;
//   4. KMS Decrypt of the blob with Recipient {RSAES_OAEP_SHA_256, the document}, through the
//      host's egress proxy when one is set; the CiphertextForRecipient (CMS EnvelopedData) is
//      unwrapped with the RSA key into the 32-byte DEK.
//
// Errors of DataKey (BootModel reports every one as kBootKeyUnavailable, naming it):
//   kKmsNotKmsKey          the manifest's key_id is not "kms:" + a KMS key ARN;
//   kKmsKeyFileMismatch    no key-wrap kms-key.json in the manifest, a fetched file whose size or
//                          SHA-256 differs from it, or a key_arn other than the manifest's;
//   kKmsKeyFileMalformed   (keys/kms/key_file.h);
//   the store's errors (kStoreNotFound, kIoError, ...), the evidence source's, the client
//   options' (kKmsNoRegion, kAwsNoCredentials), KmsClient's (kKmsAccessDenied, kKmsUnavailable,
//   kKmsBadResponse, ...) and cms_unwrap.h's (kCmsMalformed, kCmsWrongRecipient,
//   kCmsDecryptFailed, ...); kKmsBadResponse also for a plaintext that is not 32 bytes.
//
// Thread safety: one thread at a time (BootModel calls it once); `evidence` is shared.

#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/secret_bytes.h"
#include "enclave/evidence.h"
#include "enclave/model_boot.h"
#include "keys/kms/kms_client.h"
#include "model/manifest.h"
#include "model/store.h"

namespace eml::enclave {

struct KmsKeySourceOptions {
  // client_options: the KMS client options for a key ARN; empty:
  // keys::kms::OptionsFromEnvironment (EPHEMERALML_KMS_ENDPOINT, AWS_REGION, AWS_* credentials).
  std::function<Result<keys::kms::KmsClientOptions>(std::string_view key_arn)> client_options;
  // proxy: "http://HOST:PORT" of the host's CONNECT egress proxy; empty: connect directly.
  std::string proxy;
};

class KmsDataKeySource final : public DataKeySource {
 public:
  // `evidence` and `store` (the boot's store) must outlive the source.
  KmsDataKeySource(const EvidenceSource* evidence, model::ModelStore* store,
                   KmsKeySourceOptions options = {})
      : evidence_(evidence), store_(store), options_(std::move(options)) {}

  // DataKey runs the steps above. Errors: see the file comment.
  Result<SecretBytes> DataKey(const model::VerifiedManifest& manifest) override;
  // timings: attest_us (key pair and document) and release_us (Decrypt and unwrap).
  KeySourceTimings timings() const override { return timings_; }

 private:
  const EvidenceSource* evidence_;
  model::ModelStore* store_;
  KmsKeySourceOptions options_;
  KeySourceTimings timings_;
};

}  // namespace eml::enclave
