#pragma once
// Posture: reads untrusted bytes (AWS Nitro attestation documents from enclaves, files and
// peers). Bounded by kMaxDocumentBytes, the CBOR DecodeLimits built from it, and the per-field
// limits below. Fuzz target: tests/fuzz/attest_nitro_fuzz.cc (attest_nitro).
//
// eml::attest::nitro document parsing: the AWS Nitro Enclaves attestation document is an
// UNTAGGED COSE_Sign1 whose protected header is {1: -35} (ES384) and whose payload is a CBOR
// map: module_id (text), digest ("SHA384"), timestamp (uint, ms since the epoch), pcrs (map
// uint 0..31 -> bstr of the digest size), certificate (bstr, DER), cabundle (array of DER bstr,
// root first), public_key / user_data / nonce (bstr or null, optional). A parsed document is
// NOT verified: see nitro/verifier.h.
//
// Thread safety: pure functions over immutable values.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "cose/sign1.h"

namespace eml::attest::nitro {

inline constexpr size_t kMaxDocumentBytes = 32 * 1024;
inline constexpr size_t kMaxModuleIdBytes = 256;
// AWS's published CDDL bounds public_key at 1024 bytes and user_data and nonce at 512, but a
// real NSM-signed document (vectors nitro/cape-js/cape-spec-keyAttestationDocument.bin) carries
// 746 bytes of user_data, so the NSM emits more than 512: all three are bounded at 1024.
inline constexpr size_t kMaxPublicKeyBytes = 1024;
inline constexpr size_t kMaxUserDataBytes = 1024;
inline constexpr size_t kMaxNonceBytes = 1024;
inline constexpr size_t kMaxCabundleCertificates = 8;
inline constexpr size_t kMaxCertificateBytes = 4096;
inline constexpr uint32_t kMaxPcrIndex = 31;
inline constexpr size_t kSha384PcrBytes = 48;
// Timestamps past this (year 2255) are refused, so ms <-> s arithmetic cannot overflow.
inline constexpr uint64_t kMaxTimestampMs = uint64_t{9} * 1000 * 1000 * 1000 * 1000;

// The decoded payload.
struct Payload {
  std::string module_id;
  std::string digest;
  uint64_t timestamp_ms = 0;
  std::map<uint32_t, std::vector<uint8_t>> pcrs;
  std::vector<uint8_t> certificate;
  std::vector<std::vector<uint8_t>> cabundle;
  std::optional<std::vector<uint8_t>> public_key;
  std::optional<std::vector<uint8_t>> user_data;
  std::optional<std::vector<uint8_t>> nonce;
};

// ParseEnvelope parses `bytes` as an untagged COSE_Sign1 with an attached payload.
// Errors: kAttestMalformed (over kMaxDocumentBytes), the codes of cose::ParseSign1 (tag 18
// present is kCoseWrongTag).
Result<cose::ParsedSign1> ParseEnvelope(std::span<const uint8_t> bytes);

// CheckAlgorithm returns OK iff the protected header's alg is ES384 (-35).
// Errors: kAttestBadAlgorithm.
Status CheckAlgorithm(const cose::ParsedSign1& envelope);

// DecodePayload decodes and checks the payload map. Unknown keys are refused (the format is
// closed; a new AWS field must be added here consciously). Absent optional fields may also be
// encoded as null, as the NSM does.
// Errors: CBOR decode codes (shortest-form heads required; key order is free);
//   kAttestMalformed          the payload is not a map, or a key is not a text string
//   kAttestMissingField       module_id, digest, timestamp, pcrs, certificate, cabundle absent,
//                             or PCR0, PCR1 or PCR2 absent
//   kAttestUnsupportedDigest  digest is not "SHA384"
//   kAttestBadField           a field of the wrong type or size, an unknown key, an empty
//                             module_id, timestamp 0 or over kMaxTimestampMs, a PCR index over
//                             31 or a PCR of the wrong size, an empty cabundle or certificate
Result<Payload> DecodePayload(std::span<const uint8_t> payload);

// PcrIsZero: true iff every byte of `pcr` is 0 (Nitro debug-mode enclaves report PCR0..2 as 0).
bool PcrIsZero(std::span<const uint8_t> pcr);

}  // namespace eml::attest::nitro
