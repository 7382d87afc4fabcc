#include "air/check.h"

namespace eml::air {

std::string_view CheckName(Check check) {
  switch (check) {
    case Check::kSize:
      return "SIZE";
    case Check::kCoseDecode:
      return "COSE_DECODE";
    case Check::kUnprotected:
      return "UNPROTECTED";
    case Check::kAlg:
      return "ALG";
    case Check::kContentType:
      return "CONTENT_TYPE";
    case Check::kProtected:
      return "PROTECTED";
    case Check::kPayload:
      return "PAYLOAD";
    case Check::kClaimsDecode:
      return "CLAIMS_DECODE";
    case Check::kEatProfile:
      return "EAT_PROFILE";
    case Check::kCanonical:
      return "CANONICAL";
    case Check::kSig:
      return "SIG";
    case Check::kCti:
      return "CTI";
    case Check::kMhashPresent:
      return "MHASH_PRESENT";
    case Check::kMeas:
      return "MEAS";
    case Check::kMtype:
      return "MTYPE";
    case Check::kMhashScheme:
      return "MHASH_SCHEME";
    case Check::kSecurityMode:
      return "SECURITY_MODE";
    case Check::kFresh:
      return "FRESH";
    case Check::kMhash:
      return "MHASH";
    case Check::kRhash:
      return "RHASH";
    case Check::kOhash:
      return "OHASH";
    case Check::kAdhash:
      return "ADHASH";
    case Check::kModel:
      return "MODEL";
    case Check::kSecurityModePolicy:
      return "SECURITY_MODE_POLICY";
    case Check::kPlatform:
      return "PLATFORM";
    case Check::kNonce:
      return "NONCE";
    case Check::kReplay:
      return "REPLAY";
  }
  return "UNKNOWN";
}

Layer CheckLayer(Check check) {
  if (check <= Check::kCanonical) {
    return Layer::kParse;
  }
  if (check == Check::kSig) {
    return Layer::kCrypto;
  }
  if (check <= Check::kSecurityMode) {
    return Layer::kClaims;
  }
  return Layer::kPolicy;
}

bool IsCriticalCheck(Check check) { return CheckLayer(check) != Layer::kPolicy; }

// One case per code: a table more than a function, so it runs past 80 lines; -Wswitch flags a
// code without a name.
std::string_view CheckCodeName(CheckCode code) {
  switch (code) {
    case CheckCode::kReceiptTooLarge:
      return "RECEIPT_TOO_LARGE";
    case CheckCode::kCoseDecodeFailed:
      return "COSE_DECODE_FAILED";
    case CheckCode::kUntaggedReceipt:
      return "UNTAGGED_RECEIPT";
    case CheckCode::kNonEmptyUnprotected:
      return "NON_EMPTY_UNPROTECTED";
    case CheckCode::kBadAlg:
      return "BAD_ALG";
    case CheckCode::kBadContentType:
      return "BAD_CONTENT_TYPE";
    case CheckCode::kUnexpectedHeaderParam:
      return "UNEXPECTED_HEADER_PARAM";
    case CheckCode::kMissingPayload:
      return "MISSING_PAYLOAD";
    case CheckCode::kPayloadDecodeFailed:
      return "PAYLOAD_DECODE_FAILED";
    case CheckCode::kPayloadNotMap:
      return "PAYLOAD_NOT_MAP";
    case CheckCode::kUnknownClaim:
      return "UNKNOWN_CLAIM";
    case CheckCode::kDuplicateClaim:
      return "DUPLICATE_CLAIM";
    case CheckCode::kWrongType:
      return "WRONG_TYPE";
    case CheckCode::kMissingClaim:
      return "MISSING_CLAIM";
    case CheckCode::kBadHashLength:
      return "BAD_HASH_LENGTH";
    case CheckCode::kBadCtiLength:
      return "BAD_CTI_LENGTH";
    case CheckCode::kBadNonceLength:
      return "BAD_NONCE_LENGTH";
    case CheckCode::kTextBounds:
      return "TEXT_BOUNDS";
    case CheckCode::kZeroIat:
      return "ZERO_IAT";
    case CheckCode::kWrongProfile:
      return "WRONG_PROFILE";
    case CheckCode::kNonCanonicalEncoding:
      return "NON_CANONICAL_ENCODING";
    case CheckCode::kBadSigLength:
      return "BAD_SIG_LENGTH";
    case CheckCode::kSigFailed:
      return "SIG_FAILED";
    case CheckCode::kZeroCti:
      return "ZERO_CTI";
    case CheckCode::kZeroModelHash:
      return "ZERO_MODEL_HASH";
    case CheckCode::kBadMeasurementLength:
      return "BAD_MEASUREMENT_LENGTH";
    case CheckCode::kTdxWithPcr8:
      return "TDX_WITH_PCR8";
    case CheckCode::kUnknownMtype:
      return "UNKNOWN_MTYPE";
    case CheckCode::kUnknownModelHashScheme:
      return "UNKNOWN_MODEL_HASH_SCHEME";
    case CheckCode::kUnknownSecurityMode:
      return "UNKNOWN_SECURITY_MODE";
    case CheckCode::kTimestampStale:
      return "TIMESTAMP_STALE";
    case CheckCode::kTimestampFuture:
      return "TIMESTAMP_FUTURE";
    case CheckCode::kClockError:
      return "CLOCK_ERROR";
    case CheckCode::kModelHashMismatch:
      return "MODEL_HASH_MISMATCH";
    case CheckCode::kRequestHashMismatch:
      return "REQUEST_HASH_MISMATCH";
    case CheckCode::kResponseHashMismatch:
      return "RESPONSE_HASH_MISMATCH";
    case CheckCode::kAttestationDocHashMismatch:
      return "ATTESTATION_DOC_HASH_MISMATCH";
    case CheckCode::kModelIdMismatch:
      return "MODEL_ID_MISMATCH";
    case CheckCode::kSecurityModeMismatch:
      return "SECURITY_MODE_MISMATCH";
    case CheckCode::kEvaluationModeRejected:
      return "EVALUATION_MODE_REJECTED";
    case CheckCode::kPlatformMismatch:
      return "PLATFORM_MISMATCH";
    case CheckCode::kNonceMismatch:
      return "NONCE_MISMATCH";
    case CheckCode::kNonceMissing:
      return "NONCE_MISSING";
    case CheckCode::kReplayCti:
      return "REPLAY_CTI";
  }
  return "UNKNOWN";
}

std::string_view CheckStatusName(CheckStatus status) {
  switch (status) {
    case CheckStatus::kPass:
      return "PASS";
    case CheckStatus::kFail:
      return "FAIL";
    case CheckStatus::kSkip:
      return "SKIP";
  }
  return "UNKNOWN";
}

std::optional<Check> ParseCheck(std::string_view name) {
  for (int i = 0; i < kNumChecks; ++i) {
    const auto check = static_cast<Check>(i);
    if (CheckName(check) == name) {
      return check;
    }
  }
  return std::nullopt;
}

std::optional<CheckCode> ParseCheckCode(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(CheckCode::kReplayCti); ++i) {
    const auto code = static_cast<CheckCode>(i);
    if (CheckCodeName(code) == name) {
      return code;
    }
  }
  return std::nullopt;
}

}  // namespace eml::air
