#pragma once
// eml::attest::nitro NSM messages: the requests an enclave sends to the Nitro Secure Module
// through /dev/nsm and the responses it gets back, and NsmClient / NsmProvider over a transport
// (nsm_device.h is the real one; tests feed recorded or constructed byte strings).
//
// Wire format (aws-nitro-enclaves-nsm-api, serde_cbor of Rust enums, "externally tagged"):
//   Attestation request   {"Attestation": {"user_data": bstr|null, "nonce": bstr|null,
//                                          "public_key": bstr|null}}   (keys in this order)
//   DescribePCR request   {"DescribePCR": {"index": uint16}}
//   Attestation response  {"Attestation": {"document": bstr}}
//   DescribePCR response  {"DescribePCR": {"lock": bool, "data": bstr}}
//   Error response        {"Error": "InvalidIndex" | "InvalidArgument" | ...}
// Requests are written byte for byte as the Rust library writes them (map keys in declaration
// order, not the deterministic order of cbor::Encode). Responses are decoded with strict CBOR
// (shortest heads, definite lengths); key order is free, unknown or missing keys are refused.
//
// Posture: Parse*Response read bytes from the NSM device (hypervisor side; trusted by the
// enclave but parsed defensively). Limits: kNsmResponseMaxBytes, cbor::DecodeLimits derived from
// it, kMaxPcrBytes. Fuzz target: tests/fuzz/attest_nsm_response_fuzz.cc (attest_nsm_response).
//
// Thread safety: the functions are pure; NsmClient and NsmProvider are as thread-safe as their
// transport (DevNsm: one call at a time).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/result.h"

namespace eml::attest::nitro {

// The driver's buffer sizes (nsm-api src/driver: NSM_REQUEST_MAX_SIZE, NSM_RESPONSE_MAX_SIZE).
inline constexpr size_t kNsmRequestMaxBytes = 0x1000;
inline constexpr size_t kNsmResponseMaxBytes = 0x3000;
// Our bounds on the attestation request fields (those of the document parser, document.h).
inline constexpr size_t kNsmMaxUserDataBytes = 1024;
inline constexpr size_t kNsmMaxNonceBytes = 1024;
inline constexpr size_t kNsmMaxPublicKeyBytes = 1024;
// A PCR is at most a SHA-512 digest.
inline constexpr size_t kMaxPcrBytes = 64;

struct NsmAttestationRequest {
  std::optional<std::vector<uint8_t>> user_data;
  std::optional<std::vector<uint8_t>> nonce;
  std::optional<std::vector<uint8_t>> public_key;
};

struct PcrDescription {
  bool locked = false;
  std::vector<uint8_t> data;
};

// EncodeAttestationRequest returns the request bytes. Absent fields are CBOR null.
// Errors: kNsmBadRequest (a field over its bound, or the request over kNsmRequestMaxBytes).
Result<std::vector<uint8_t>> EncodeAttestationRequest(const NsmAttestationRequest& request);

// EncodeDescribePcrRequest returns the request bytes. Cannot fail.
std::vector<uint8_t> EncodeDescribePcrRequest(uint16_t index);

// ParseAttestationResponse returns the attestation document (not verified: see
// nitro_verifier.h). Errors: kNsmErrorResponse (an Error response; its name in detail),
// kNsmMalformedResponse (anything else that is not an Attestation response: bad CBOR, wrong
// variant, missing, extra or mistyped keys, an empty document, over kNsmResponseMaxBytes).
Result<std::vector<uint8_t>> ParseAttestationResponse(std::span<const uint8_t> response);

// ParseDescribePcrResponse returns the PCR's lock state and value.
// Errors: kNsmErrorResponse, kNsmMalformedResponse (as above; data empty or over kMaxPcrBytes).
Result<PcrDescription> ParseDescribePcrResponse(std::span<const uint8_t> response);

// One request/response exchange with an NSM. Implementations: DevNsm (nsm_device.h), and test
// doubles that replay recorded bytes.
class NsmTransport {
 public:
  virtual ~NsmTransport() = default;
  // Call sends `request` and returns the raw response bytes.
  // Errors: the implementation's (DevNsm: kNsmDeviceError).
  virtual Result<std::vector<uint8_t>> Call(std::span<const uint8_t> request) = 0;
};

// NsmClient: typed requests over a transport it does not own (which must outlive it).
class NsmClient {
 public:
  explicit NsmClient(NsmTransport* transport) : transport_(transport) {}
  // Attest returns a fresh attestation document binding the request's fields.
  // Errors: EncodeAttestationRequest's, the transport's, ParseAttestationResponse's.
  Result<std::vector<uint8_t>> Attest(const NsmAttestationRequest& request);
  // DescribePcr reads PCR `index`. Errors: the transport's, ParseDescribePcrResponse's.
  Result<PcrDescription> DescribePcr(uint16_t index);

 private:
  NsmTransport* transport_;
};

}  // namespace eml::attest::nitro
