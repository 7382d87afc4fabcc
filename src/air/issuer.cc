#include "air/issuer.h"

#include <algorithm>
#include <string>
#include <utility>

#include "cose/sign1.h"

namespace eml::air {

Result<std::vector<uint8_t>> IssueReceipt(const Claims& claims,
                                          const crypto::Ed25519PrivateKey& key,
                                          const IssueOptions& options) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> payload, EncodeClaims(claims));
  cose::Sign1Input in;
  in.protected_header = cbor::Value::Map({
      {cbor::Value::Int(cose::kHeaderAlgorithm), cbor::Value::Int(kAlgEdDSA)},
      {cbor::Value::Int(3), cbor::Value::Uint(kContentTypeCwt)},
  });
  in.unprotected_header = cbor::Value::Map({});
  in.payload = std::move(payload);
  in.tagged = true;
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> receipt, cose::SignSign1Ed25519(in, key));
  const size_t limit = std::min(options.max_receipt_bytes, kMaxReceiptBytes);
  if (receipt.size() > limit) {
    return Error{ErrorCode::kAirReceiptTooLarge,
                 std::to_string(receipt.size()) + " bytes > " + std::to_string(limit)};
  }
  return receipt;
}

}  // namespace eml::air
