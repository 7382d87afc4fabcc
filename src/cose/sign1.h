#pragma once
// Posture: reads untrusted bytes (AIR receipts from enclaves and gateways, AWS Nitro
// attestation documents, COSE test vectors). Bounded by ParseOptions::limits (the CBOR decoder's
// DecodeLimits). Fuzz target: tests/fuzz/cose_sign1_fuzz.cc (cose_sign1).
//
// eml::cose: COSE_Sign1 (RFC 9052 section 4.2) parsing, verification and signing, for EdDSA
// (Ed25519, alg -8), ES256 (alg -7) and ES384 (alg -35) with raw r||s signatures.
// Parsing and verifying are separate steps: a ParsedSign1 is NOT verified (STYLE B5).
// Thread safety: all functions are pure; ParsedSign1 is immutable.

#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "cbor/decoder.h"
#include "cbor/value.h"
#include "common/result.h"
#include "crypto/ecdsa.h"
#include "crypto/ed25519.h"

namespace eml::cose {

// COSE algorithm identifiers (IANA "COSE Algorithms") that we implement.
enum class Algorithm : int64_t { kEdDSA = -8, kES256 = -7, kES384 = -35 };

inline constexpr uint64_t kSign1Tag = 18;
inline constexpr int64_t kHeaderAlgorithm = 1;  // header label "alg"

enum class TagRule { kRequireTagged, kRequireUntagged, kAllowEither };

struct ParseOptions {
  TagRule tag_rule = TagRule::kAllowEither;
  // allow_detached_payload: accept a nil payload (the caller supplies it to VerifySign1).
  bool allow_detached_payload = false;
  cbor::DecodeLimits limits;
};

// A COSE_Sign1 message that parsed; its signature has NOT been checked.
class ParsedSign1 {
 public:
  // tagged: the message carried tag 18.
  bool tagged() const { return tagged_; }
  // protected_bytes: the protected header's bstr content (empty when the header is empty).
  std::span<const uint8_t> protected_bytes() const EML_LIFETIME_BOUND { return protected_bytes_; }
  // protected_header: the decoded protected map (an empty map when protected_bytes is empty).
  const cbor::Value& protected_header() const EML_LIFETIME_BOUND { return protected_header_; }
  const cbor::Value& unprotected_header() const EML_LIFETIME_BOUND { return unprotected_header_; }
  // payload: the attached payload, or nullopt for a detached (nil) payload.
  std::optional<std::span<const uint8_t>> payload() const EML_LIFETIME_BOUND;
  std::span<const uint8_t> signature() const EML_LIFETIME_BOUND { return signature_; }
  // algorithm: label 1 of the protected header when it is an integer that fits int64_t.
  std::optional<int64_t> algorithm() const { return algorithm_; }
  // canonical: the whole input, and the protected header bytes, were deterministic CBOR.
  bool canonical() const { return canonical_; }

 private:
  friend Result<ParsedSign1> ParseSign1(std::span<const uint8_t> bytes,
                                        const ParseOptions& options);
  ParsedSign1() = default;

  bool tagged_ = false;
  std::vector<uint8_t> protected_bytes_;
  cbor::Value protected_header_;
  cbor::Value unprotected_header_;
  std::optional<std::vector<uint8_t>> payload_;
  std::vector<uint8_t> signature_;
  std::optional<int64_t> algorithm_;
  bool canonical_ = false;
};

// ParseSign1 decodes `bytes` as one COSE_Sign1 message (tag 18 optional per options.tag_rule):
// [protected: bstr .cbor map / empty bstr, unprotected: map, payload: bstr / nil,
// signature: bstr]. The result owns copies of its parts.
// Errors: the CBOR decode codes (see cbor/decoder.h) for the outer item;
//   kCoseMalformed            not a 4-element array of those types
//   kCoseUntagged             tag 18 required but absent
//   kCoseWrongTag             a tag other than 18, or a tag where kRequireUntagged
//   kCoseBadProtectedHeader   protected bytes do not decode (within options.limits) to one
//                             CBOR map, or a label is not an integer or text string
//   kCoseBadUnprotectedHeader the unprotected header is not a map, or a label is not an
//                             integer or text string
//   kCoseDetachedPayload      payload is nil and allow_detached_payload is false
//   kCoseDuplicateHeaderLabel a label present in both the protected and unprotected headers
Result<ParsedSign1> ParseSign1(std::span<const uint8_t> bytes, const ParseOptions& options = {});

// SerializeSign1 writes `msg` back as deterministic CBOR (tagged iff msg.tagged()). For a
// message with canonical() true it gives the parsed bytes exactly.
// Errors: none for a ParsedSign1 (the Result carries Encode's, which cannot fail on decoded maps).
Result<std::vector<uint8_t>> SerializeSign1(const ParsedSign1& msg);

// SigStructure returns the encoded Sig_structure1 that is signed:
// ["Signature1", protected (bstr), external_aad (bstr), payload (bstr)].
std::vector<uint8_t> SigStructure(std::span<const uint8_t> protected_bytes,
                                  std::span<const uint8_t> external_aad,
                                  std::span<const uint8_t> payload);

using VerificationKey = std::variant<crypto::Ed25519PublicKey, crypto::EcdsaPublicKey>;

struct VerifyOptions {
  std::span<const uint8_t> external_aad;
  // detached_payload: the payload to verify when the message has a nil payload. Giving one for
  // a message with an attached payload is kInvalidArgument.
  std::optional<std::span<const uint8_t>> detached_payload;
  // allow_unprotected_algorithm: when the protected header has no alg, take it from the
  // unprotected header (RFC 9052 allows it; our formats never need it, so it is off).
  bool allow_unprotected_algorithm = false;
};

// VerifySign1 checks the signature of `msg` with `key` over its Sig_structure. A protected
// header that decodes to an empty map (h'' or h'a0') enters the Sig_structure as h''
// (RFC 9052 section 4.4; COSE WG example sign-pass-01).
// Errors:
//   kCoseMissingAlgorithm     no alg (label 1) in the protected header
//   kCoseUnsupportedAlgorithm alg is not EdDSA, ES256 or ES384 (or not an integer), or alg is
//                             EdDSA with a 114-byte signature (Ed448)
//   kCoseAlgorithmKeyMismatch the key type or curve does not fit alg
//   kCoseMissingPayload       the payload is detached and options.detached_payload is unset
//   kCryptoBadSignatureLength the signature has the wrong length for alg
//   kCoseSignatureInvalid     the signature does not verify (any other crypto failure)
Status VerifySign1(const ParsedSign1& msg, const VerificationKey& key,
                   const VerifyOptions& options = {});

struct Sign1Input {
  cbor::Value protected_header = cbor::Value::Map({});    // must be a map
  cbor::Value unprotected_header = cbor::Value::Map({});  // must be a map
  std::vector<uint8_t> payload;
  bool tagged = true;
  std::span<const uint8_t> external_aad;
};

// SignSign1Ed25519 / SignSign1Ecdsa return an encoded COSE_Sign1 over `in`. The protected
// header is encoded deterministically (an empty map as an empty bstr); when it has no alg,
// the key's alg is added (-8 for Ed25519, -7 for P-256, -35 for P-384).
// Errors: kInvalidArgument when a header is not a map; kCoseAlgorithmKeyMismatch when alg is
// present and does not fit the key; kCoseDuplicateHeaderLabel when a label is in both headers;
// kCborDuplicateKey from encoding; crypto errors from the signer.
Result<std::vector<uint8_t>> SignSign1Ed25519(const Sign1Input& in,
                                              const crypto::Ed25519PrivateKey& key);
Result<std::vector<uint8_t>> SignSign1Ecdsa(const Sign1Input& in,
                                            const crypto::EcdsaPrivateKey& key);

}  // namespace eml::cose
