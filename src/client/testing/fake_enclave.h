#pragma once
// Test-only: a scripted enclave for the session client's tests (never linked into a shipped
// binary). It attests with the real `sim` provider (Nitro-format documents under a sim root in
// a state directory), runs the real responder handshake and record layer, answers embed and
// evidence requests with fixed vectors, and signs real AIR v1 receipts, each of which can be
// given one chosen fault. It records what reached it, so a test can prove that a refusing
// client sent no application data.
//
// Thread safety: ServeOne runs on one thread (typically a std::thread in the test); read the
// ServeLog after joining it.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attest/sim/sim_provider.h"
#include "channel/net/net.h"
#include "common/result.h"
#include "crypto/ed25519.h"

namespace eml::client::testing {

inline constexpr char kFakeModelId[] = "fake-minilm";
inline constexpr size_t kFakeDim = 4;

struct Faults {
  bool sign_with_other_key = false;  // receipts signed by a key that is not the attested one
  bool repeat_sequence = false;      // every receipt carries sequence_number 1
  bool repeat_cti = false;           // every receipt carries the same cti (sequence still rises)
  bool production_mode = false;      // security_mode "production" on sim
  bool wrong_result_model = false;   // the result names a model the attestation does not list
  bool other_user_data_in_evidence = false;  // Evidence documents carry different user_data
  bool bad_user_data = false;                // the attested user_data is not the protocol's map
  bool wrong_response_id = false;            // responses answer another request id
  bool answer_with_error = false;            // every request gets an error response
  bool drop_last_row = false;                // the result holds one row fewer than the inputs
};

struct ServeLog {
  Status handshake;             // how the responder handshake ended
  size_t records_received = 0;  // application records that reached the enclave
  size_t responses_sent = 0;
};

class FakeEnclave {
 public:
  // Create makes (or reuses) the sim root in `state_dir` and a fresh receipt key.
  static Result<std::unique_ptr<FakeEnclave>> Create(const std::filesystem::path& state_dir,
                                                     Faults faults = {});

  // ServeOne accepts one connection on `listener` and serves it until the client leaves.
  ServeLog ServeOne(channel::net::Listener* listener);

  // The sim root PEM file and PCR values, for policy files.
  std::filesystem::path root_pem() const;
  const std::map<uint32_t, std::vector<uint8_t>>& pcrs() const { return sim_.pcrs(); }
  const crypto::Ed25519PublicKey& receipt_public_key() const { return receipt_key_.public_key(); }
  std::vector<uint8_t> model_hash() const;

  // SimPolicyJson returns a policy naming this sim root with PCR0..2 pinned; `pcr_override`
  // replaces pins (index -> 48 bytes).
  std::string SimPolicyJson(
      const std::map<uint32_t, std::vector<uint8_t>>& pcr_override = {}) const;

 private:
  FakeEnclave(std::filesystem::path state_dir, attest::sim::SimProvider sim,
              crypto::Ed25519PrivateKey receipt_key, crypto::Ed25519PrivateKey other_key,
              Faults faults)
      : state_dir_(std::move(state_dir)),
        sim_(std::move(sim)),
        receipt_key_(std::move(receipt_key)),
        other_key_(std::move(other_key)),
        faults_(faults) {}

  std::filesystem::path state_dir_;
  attest::sim::SimProvider sim_;
  crypto::Ed25519PrivateKey receipt_key_;
  crypto::Ed25519PrivateKey other_key_;
  Faults faults_;
};

}  // namespace eml::client::testing
