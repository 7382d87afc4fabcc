#pragma once
// The closed set of error codes. Codes are contract (tests and callers branch on them); the
// detail text is for people and may change. Values are grouped by library, never reused, and
// never renumbered: append new values at the end of their group's range.

#include <cstdint>
#include <string>
#include <string_view>

namespace eml {

enum class ErrorCode : uint16_t {
  kOk = 0,  // Not an error; what Result::code() reports for a value.

  // General (1-99).
  kInvalidArgument = 1,  // A caller-supplied argument is malformed or out of range.
  kNotFound = 2,         // A named file, key or entry does not exist.
  kIoError = 3,          // Reading or writing a file or socket failed.
  kInternal = 4,         // An invariant of a dependency failed; should never happen.
  kUnimplemented = 5,    // The requested feature or algorithm is not supported.
  kLimitExceeded = 6,    // An input is larger than the configured limit.
  kIntegerOverflow = 7,  // A size computation would overflow.
  kBadHex = 8,           // Text is not valid hexadecimal of the expected length.
  kBadBase64 = 9,        // Text is not valid base64 / base64url.
  kTruncated = 10,       // Bytes ended before a fixed-layout structure was complete.
  kTrailingBytes = 11,   // Bytes remain after a complete structure.
  kBadJson = 12,         // Text is not valid JSON or lacks a required field.

  // Crypto primitives (100-199).
  kCryptoBadKeyLength = 100,           // A key has the wrong number of bytes for its algorithm.
  kCryptoBadKey = 101,                 // Key bytes do not decode to a valid key (encoding, curve).
  kCryptoSmallOrderKey = 102,          // A public key is of small order (Ed25519 / X25519).
  kCryptoNonCanonicalKey = 103,        // A public key encoding is not canonical.
  kCryptoBadSignatureLength = 104,     // A signature has the wrong length or DER structure.
  kCryptoNonCanonicalSignature = 105,  // Ed25519 S >= L or non-canonical / small-order R.
  kCryptoSignatureInvalid = 106,       // A well-formed signature does not verify.
  kCryptoBadNonceLength = 107,         // An AEAD nonce / IV has an unsupported length.
  kCryptoAeadOpenFailed = 108,         // AEAD authentication failed (tag, key, nonce or AAD wrong).
  kCryptoCiphertextTooShort = 109,     // AEAD ciphertext shorter than its tag.
  kCryptoMessageTooLong = 110,         // Input exceeds what the primitive can process.
  kCryptoOutputTooLong = 111,          // HKDF or export asked for more bytes than allowed.
  kCryptoRandomFailed = 112,           // The CSPRNG failed.
  kCryptoLibraryFailure = 113,         // OpenSSL reported an unexpected failure.
  kCryptoAllZeroSharedSecret = 114,    // X25519 produced the all-zero shared secret.
  kCryptoDecryptFailed = 115,          // RSA-OAEP decryption failed (wrong key or bad padding).
  kCryptoBadTagLength = 116,           // An AEAD tag has an unsupported length.

  // X.509 (200-249).
  kX509ParseFailed = 200,     // A certificate or CRL is not valid DER/PEM.
  kX509Untrusted = 201,       // The chain does not lead to a pinned root.
  kX509Expired = 202,         // A certificate in the chain expired before the given time.
  kX509NotYetValid = 203,     // A certificate in the chain is not valid yet at the given time.
  kX509BadSignature = 204,    // A certificate's signature does not verify with its issuer.
  kX509BadConstraints = 205,  // CA flag, path length or key usage forbid this chain.
  kX509Revoked = 206,         // A certificate is listed in a CRL.
  kX509ChainInvalid = 207,    // Any other chain failure (reason in detail).
  kX509EmptyChain = 208,      // No certificate was given.

  // HPKE (250-299).
  kHpkeUnsupportedSuite = 250,    // KEM, KDF or AEAD identifier not supported.
  kHpkeBadEncapsulatedKey = 251,  // The encapsulated key is malformed or of small order.
  kHpkeOpenFailed = 252,          // Decryption of an HPKE message failed.
  kHpkeSequenceOverflow = 253,    // The context's sequence number is exhausted.
  kHpkeBadPskInputs = 254,        // PSK and PSK id inconsistent with the mode.
  kHpkeExportTooLong = 255,       // Export length above 255 * Nh.
  kHpkeExportOnly = 256,          // Seal/Open on a context whose AEAD is export-only.
  kHpkeIkmTooShort = 257,         // DeriveKeyPair input keying material shorter than Nsk.

  // CBOR (300-349).
  kCborTruncated = 300,           // Input ended inside a data item.
  kCborTrailingBytes = 301,       // Bytes remain after the top-level item.
  kCborTooDeep = 302,             // Nesting deeper than the limit.
  kCborTooManyItems = 303,        // More data items than the limit.
  kCborStringTooLong = 304,       // A byte or text string longer than the limit.
  kCborInputTooLarge = 305,       // Whole input larger than the limit.
  kCborIndefiniteLength = 306,    // Indefinite-length item where strict mode forbids it.
  kCborNonShortestForm = 307,     // An argument not in its shortest form (strict mode).
  kCborDuplicateKey = 308,        // A map has the same key twice.
  kCborReservedInfo = 309,        // Additional information 28-30, or 31 on major 0/1/6.
  kCborBadSimpleValue = 310,      // Simple value encoding invalid (e.g. 0xf8 with < 32).
  kCborInvalidUtf8 = 311,         // A text string is not valid UTF-8.
  kCborUnexpectedBreak = 312,     // A break byte outside an indefinite-length item.
  kCborTypeMismatch = 313,        // A value is not of the type the caller asked for.
  kCborUnsortedKeys = 314,        // Map keys not in deterministic order (require_canonical).
  kCborBadIndefiniteChunk = 315,  // Chunk of an indefinite string is of the wrong type.
  kCborNonCanonicalFloat = 316,   // A float not in its shortest exact form (require_canonical).

  // COSE (350-399).
  kCoseMalformed = 350,             // Not a 4-element COSE_Sign1 array of the right types.
  kCoseUntagged = 351,              // Tag 18 required but absent.
  kCoseWrongTag = 352,              // A tag other than 18.
  kCoseBadProtectedHeader = 353,    // Protected header bytes are not a CBOR map.
  kCoseBadUnprotectedHeader = 354,  // Unprotected header is not a map or breaks a rule.
  kCoseMissingAlgorithm = 355,      // No alg (label 1) in the protected header.
  kCoseUnsupportedAlgorithm = 356,  // alg is not EdDSA, ES256 or ES384.
  kCoseAlgorithmKeyMismatch = 357,  // The key type does not fit alg.
  kCoseDetachedPayload = 358,       // payload is nil and detached payloads were not allowed.
  kCoseSignatureInvalid = 359,      // The signature does not verify.
  kCoseDuplicateHeaderLabel = 360,  // The same label in protected and unprotected headers.
  kCoseMissingPayload = 361,        // A detached payload was expected but none supplied.

  // AIR receipts (400-449): issuing errors; verification findings use air::CheckCode.
  kAirInvalidClaims = 400,    // Claims given to the issuer violate the AIR v1 rules.
  kAirReceiptTooLarge = 401,  // The encoded receipt would exceed 64 KiB.
  kAirBadPolicy = 402,        // A verification policy value is malformed.

  // Model files: safetensors, config, manifests (450-549).
  kModelTruncated = 450,           // Safetensors bytes end before the length prefix or header.
  kModelHeaderTooLarge = 451,      // Safetensors header length above the configured limit.
  kModelBadHeader = 452,           // Safetensors header is not the expected JSON object.
  kModelTooManyTensors = 453,      // More tensors than the configured limit.
  kModelDuplicateTensor = 454,     // The same tensor name appears twice in a header.
  kModelUnsupportedDtype = 455,    // Unknown tensor dtype, or one the operation cannot use.
  kModelBadShape = 456,            // A shape is not a list of non-negative ints within max rank.
  kModelBadOffsets = 457,          // data_offsets malformed, reversed or beyond the data section.
  kModelTensorSizeMismatch = 458,  // A tensor's byte range does not match its shape and dtype.
  kModelOverlappingTensors = 459,  // Two tensors' byte ranges overlap.
  kModelDataHole = 460,            // Data section bytes not covered by any tensor.
  kModelTensorNotFound = 461,      // A required tensor is absent.
  kModelShapeMismatch = 462,       // A tensor's shape differs from the one the model needs.
  kModelBadConfig = 463,           // A model config file is malformed or a value out of range.
  kModelUnsupportedConfig = 464,   // A valid config asks for something not implemented.

  // Tokenizer (550-599).
  kTokenizerJsonTooLarge = 550,              // tokenizer.json larger than the configured limit.
  kTokenizerMalformedJson = 551,             // Not JSON, too deep, or a field missing / mistyped.
  kTokenizerUnsupportedModel = 552,          // model is not a supported WordPiece configuration.
  kTokenizerBadVocab = 553,                  // Vocab empty, too big, ids not 0..n-1, bad token.
  kTokenizerMissingUnkToken = 554,           // unk_token is not in the vocab.
  kTokenizerUnsupportedNormalizer = 555,     // normalizer is not BertNormalizer.
  kTokenizerUnsupportedPreTokenizer = 556,   // pre_tokenizer is not BertPreTokenizer.
  kTokenizerUnsupportedPostProcessor = 557,  // post_processor is not "[CLS] $A [SEP]".
  kTokenizerMissingSpecialToken = 558,       // CLS / SEP / PAD id missing or outside the vocab.
  kTokenizerUnsupportedAddedToken = 559,     // An added token uses unsupported options or ids.
  kTokenizerInvalidUtf8 = 560,               // Text to encode is not valid UTF-8.

  // Inference engine and scheduler (600-649).
  kEngineNoTexts = 600,               // Embed was called with zero texts or sequences.
  kEngineTooManyTexts = 601,          // More texts in one call than max_texts_per_call.
  kEngineUnsupportedPrecision = 602,  // This CPU / oneDNN build cannot run the precision.
  kEngineBadOptions = 603,            // EmbedderOptions out of range (threads, batch limits).
  kEngineBadTokens = 604,             // A token sequence is empty, too long or has an id >= vocab.
  kEngineBusy = 605,                  // The batch scheduler's queue is full; retry later.
  kEngineShuttingDown = 606,          // The batch scheduler is stopped or stopping.

  // Attestation evidence (700-799): parsing, verification steps, providers.
  kAttestMalformed = 700,            // The document is not the platform's evidence structure.
  kAttestMissingField = 701,         // A required evidence field is absent.
  kAttestBadField = 702,             // An evidence field has the wrong type, size or range.
  kAttestUnsupportedDigest = 703,    // The evidence names a digest other than the platform's.
  kAttestBadAlgorithm = 704,         // The signature algorithm is not the platform's.
  kAttestBadCertificate = 705,       // A certificate inside the evidence does not parse.
  kAttestRootMismatch = 706,         // The evidence's root is not the pinned root.
  kAttestLeafConstraints = 707,      // The signing certificate is a CA or has the wrong key.
  kAttestStale = 708,                // The evidence is older than the policy's max age.
  kAttestFromFuture = 709,           // The evidence timestamp is after the verification time.
  kAttestDebugMode = 710,            // Debug-mode evidence and the policy forbids debug.
  kAttestMeasurementMismatch = 711,  // A measurement differs from its pin, or is absent.
  kAttestNonceMismatch = 712,        // The bound nonce differs from the expected one, or is absent.
  kAttestPublicKeyMismatch = 713,    // The bound public key differs from the expected one.
  kAttestBadPolicy = 714,            // A verification policy value is malformed.
  kAttestSimState = 715,             // The sim provider's state directory is unusable.

  // Secure channel (650-699).
  kChannelBadMagic = 650,              // A frame header does not start with 0xCF4D.
  kChannelBadVersion = 651,            // A frame header carries a protocol version other than 4.
  kChannelUnknownFrameType = 652,      // A frame header carries an unknown msg_type.
  kChannelPayloadTooLarge = 653,       // A frame payload is longer than the configured limit.
  kChannelTruncated = 654,             // Bytes end inside a frame or handshake message.
  kChannelBadHandshakeMessage = 655,   // Wrong message number or length in a Hello payload.
  kChannelAttestationTooLarge = 656,   // An attestation document is longer than the limit.
  kChannelUnexpectedFrame = 657,       // Wrong type, sequence or flags for the protocol state.
  kChannelBindingMismatch = 658,       // Attested public key or nonce differs from the Hello.
  kChannelConfirmationMismatch = 659,  // The initiator's key confirmation hash is wrong.
  kChannelNotEncrypted = 660,          // A post-handshake frame lacks the ENCRYPTED flag.
  kChannelReplayedRecord = 661,        // A record's sequence is not above the last accepted.
  kChannelSequenceExhausted = 662,     // The sender used every u32 sequence number.
  kChannelRecordOpenFailed = 663,      // A record fails authentication (key, AAD or bytes).
  kChannelBadMockAttestation = 664,    // A mock attestation envelope is malformed.
  kChannelTrailingBytes = 665,         // Bytes follow a complete handshake message or envelope.
  kChannelBadState = 666,              // A handshake step was called out of order.
  kChannelTimeout = 667,               // A read, write, connect or accept passed its deadline.
  kChannelClosed = 668,                // The peer closed the connection mid-frame.
  kChannelIoError = 669,               // A socket operation failed (refused, reset, ...).
  kChannelBadAddress = 670,            // A transport address (host:port, cid:port) is malformed.

  // Command-line tools (900-949).
};

// ErrorCodeName returns the stable upper-snake name of `code` (e.g. "CBOR_TRAILING_BYTES").
std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string detail;  // One line, for people. Never secrets, never branched on.
};

// ToString renders "NAME: detail" (or "NAME" when detail is empty).
std::string ToString(const Error& error);

}  // namespace eml
