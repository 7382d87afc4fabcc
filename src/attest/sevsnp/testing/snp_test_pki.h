#pragma once
// A test-only AMD key hierarchy for SEV-SNP: an RSA "ARK-<product>" root and "SEV-<product>"
// (or "SEV-VLEK-<product>") intermediate signing with RSASSA-PSS SHA-384 (salt 48, as AMD
// does), and a P-384 VCEK / VLEK carrying AMD's extensions (attest/sevsnp/vcek.h), plus report
// signing with the endorsement key. Every field can be bent to build the negative cases.
// RSA keys are 2048-bit (AMD uses 4096) and made once per process per slot, to keep tests fast.
// Tests only.
//
// Thread safety: TestSnpPki is immutable after Create; the RSA key cache is initialised once.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attest/sevsnp/report.h"
#include "crypto/ecdsa.h"
#include "crypto/x509.h"

namespace eml::attest::sevsnp::testing {

struct TestPkiSpec {
  std::string product = "Milan";          // CNs: ARK-<product>, SEV-<product>
  std::string product_name = "Milan-B0";  // the VCEK productName extension
  bool vlek = false;                      // VLEK under "SEV-VLEK-<product>", no hwID
  int64_t not_before_unix = 1600000000;   // 2020-09-13, for all three certificates
  int64_t not_after_unix = 2000000000;    // 2033-05-18
  int64_t vcek_not_after_unix = 2000000000;
  Product tcb_product = Product::kMilan;  // which TCB fields exist (fmcSPL on Turin)
  TcbVersion tcb{0, 3, 0, 8, 115};        // the VCEK's SPL extensions
  std::vector<uint8_t> hwid = std::vector<uint8_t>(64, 0xC5);  // ignored for a VLEK
  bool omit_bl_spl = false;                                    // leave blSPL out (a malformed VCEK)
  int ark_key_slot = 0;  // another slot = another root key, same names
};

class TestSnpPki {
 public:
  // Create issues ARK, ASK and VCEK/VLEK certificates by `spec`. Aborts on OpenSSL failure.
  static TestSnpPki Create(const TestPkiSpec& spec);

  const crypto::Certificate& ark() const { return ark_; }
  const crypto::Certificate& ask() const { return ask_; }
  const crypto::Certificate& endorsement() const { return endorsement_; }

  // SignReport serializes `report` with r and s from the endorsement key over [0, 0x2A0).
  std::vector<uint8_t> SignReport(AttestationReport report) const;

 private:
  TestSnpPki(crypto::Certificate ark, crypto::Certificate ask, crypto::Certificate endorsement,
             crypto::EcdsaPrivateKey key)
      : ark_(std::move(ark)),
        ask_(std::move(ask)),
        endorsement_(std::move(endorsement)),
        key_(std::move(key)) {}

  crypto::Certificate ark_;
  crypto::Certificate ask_;
  crypto::Certificate endorsement_;
  crypto::EcdsaPrivateKey key_;
};

// BaseReport returns a well-formed version-2 report matching `spec`: VCEK-signed, policy
// 0x30000 (SMT allowed, no debug, no migration agent), VMPL 0, reported TCB = spec.tcb,
// chip_id = spec.hwid, recognisable measurement / host_data / report_data bytes.
AttestationReport BaseReport(const TestPkiSpec& spec);

}  // namespace eml::attest::sevsnp::testing
