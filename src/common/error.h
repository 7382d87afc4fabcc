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

  // Segmented AEAD, EML STREAM v1 (180-199).
  kStreamBadMagic = 180,            // An encrypted file does not start with "EMLS".
  kStreamUnsupportedVersion = 181,  // Stream header version or cipher suite unknown.
  kStreamBadHeader = 182,           // Stream header reserved bytes set or segment size invalid.
  kStreamWrongKey = 183,            // The key's check value differs from the header's.
  kStreamHeaderAuthFailed = 184,    // Right key, but the header bytes were changed.
  kStreamSegmentAuthFailed = 185,   // A segment fails authentication (damaged or foreign).
  kStreamSegmentDuplicated = 186,   // A segment is a copy of an earlier segment.
  kStreamSegmentReordered = 187,    // A segment belongs at a later position.
  kStreamTruncated = 188,           // The stream ends before its final segment (or header).
  kStreamTrailingData = 189,        // Bytes follow the final segment.
  kStreamTooLarge = 190,            // More than 2^32 segments.

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

  // Model manifests, packages and stores (500-549).
  kManifestBadJson = 500,             // A manifest is not well-formed JSON (syntax, UTF-8, depth).
  kManifestNonCanonical = 501,        // Well-formed JSON but not the canonical form that is signed.
  kManifestDuplicateKey = 502,        // A JSON object has the same key twice.
  kManifestUnknownField = 503,        // A field the manifest schema does not define.
  kManifestMissingField = 504,        // A required manifest field is absent.
  kManifestBadField = 505,            // A field has the wrong type or an invalid value.
  kManifestBadHash = 506,             // A digest field is not 64 lowercase hex digits.
  kManifestBadSize = 507,             // A size field is not a valid size or disagrees with another.
  kManifestUnsupportedVersion = 508,  // schema_version is not 1.
  kManifestUnsupportedScheme = 509,   // An encryption or model_hash scheme we do not know.
  kManifestTooLarge = 510,            // A manifest above the size, depth or file-count limit.
  kManifestBadFileName = 511,         // A file name is absolute, has "..", or is not portable.
  kManifestDuplicateFile = 512,       // Two entries name the same file or encrypted path.
  kManifestMalformedSignature = 513,  // The signature file is not 128 lowercase hex digits.
  kManifestSignatureInvalid = 514,    // The Ed25519 signature does not verify.
  kManifestSignerMismatch = 515,      // signer_key_id is not the key given to verify with.
  kPackageFileMissing = 520,          // A file the manifest lists is absent from the package.
  kPackageSizeMismatch = 521,         // A file's size differs from the manifest.
  kPackageHashMismatch = 522,         // A file's SHA-256 differs from the manifest.
  kPackageUnlistedFile = 523,         // The package holds a file the manifest does not list.
  kPackageOutputExists = 524,         // The output package directory already exists.
  kPackageBadModelDir = 525,          // The input model directory cannot be packed.
  kStoreUnsupportedScheme = 530,      // A store URL scheme we do not implement (e.g. s3://).
  kStoreBadUrl = 531,                 // A store URL is malformed.
  kStoreNotFound = 532,               // The store has no such model, version or file.
  kStoreVersionExists = 533,          // The model version is already published (immutable).
  kStoreBadRange = 534,               // A ranged read lies outside the object.

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
  // Intel TDX quotes and collateral (720-739).
  kTdxQuoteMalformed = 720,        // A TDX quote's lengths or layout are inconsistent or truncated.
  kTdxUnsupportedQuote = 721,      // Quote version, body type, TEE type or key type not supported.
  kTdxBadCertificationData = 722,  // Certification data is missing or not QE report + PCK chain.
  kTdxQuoteSignatureInvalid = 723,     // The quote signature does not verify with its key.
  kTdxQeReportSignatureInvalid = 724,  // The QE report signature does not verify with the PCK.
  kTdxQeReportDataMismatch = 725,      // QE report data does not bind the attestation key.
  kTdxPckExtensionInvalid = 726,       // The PCK certificate's SGX extensions are absent or bad.
  kTdxCollateralMissing = 727,         // No collateral (tcbInfo, QE identity, CRL) for this quote.
  kTdxCollateralMalformed = 728,       // A collateral file is not the Intel PCS shape.
  kTdxCollateralSignatureInvalid = 729,  // A tcbInfo / QE identity signature does not verify.
  kTdxCollateralExpired = 730,           // A tcbInfo / QE identity is past nextUpdate.
  kTdxCollateralNotYetValid = 731,       // A tcbInfo / QE identity is issued after the time.
  kTdxFmspcMismatch = 732,               // The tcbInfo's FMSPC or PCE id differs from the PCK's.
  kTdxQeIdentityMismatch = 733,          // The QE report does not match Intel's QE identity.
  kTdxModuleMismatch = 734,              // MRSIGNERSEAM / SEAM attributes differ from the tcbInfo.
  kTdxTcbStatusNotAllowed = 735,         // The TCB status is not one the policy allows.
  kTdxReportDataMismatch = 736,          // report_data differs from the policy's expected value.
  // AMD SEV-SNP attestation reports (740-754).
  kSnpReportMalformed = 740,        // An SNP report is not 1184 bytes, or evidence framing is bad.
  kSnpUnsupportedVersion = 741,     // The report version is not 2 or 3.
  kSnpReservedNonZero = 742,        // A reserved report field or policy bit is not as AMD requires.
  kSnpCertTableMalformed = 743,     // The certificate table after the report is malformed.
  kSnpMissingEndorsementKey = 744,  // No VCEK / VLEK certificate for the report's signing key.
  kSnpBadEndorsementCert = 745,     // The VCEK / VLEK key is not P-384 or an AMD extension is bad.
  kSnpProductMismatch = 746,        // VCEK, ASK and ARK name different products (Milan, ...).
  kSnpSignatureInvalid = 747,       // The report signature does not verify with the VCEK / VLEK.
  kSnpChipIdMismatch = 748,         // The report's chip_id differs from the VCEK's hwID.
  kSnpTcbMismatch = 749,            // The reported TCB differs from the VCEK / VLEK's TCB.
  kSnpTcbTooLow = 750,              // The reported TCB is below the policy's minimum.
  kSnpMigrationAgent = 751,         // The guest allows a migration agent; the policy does not.
  kSnpSmtNotAllowed = 752,          // The guest policy allows SMT; the verifier policy does not.
  kSnpVmplMismatch = 753,           // The report's VMPL differs from the policy's required VMPL.
  kSnpReportDataMismatch = 754,     // report_data differs from the policy's expected value.
  // GCP Confidential Space attestation tokens (755-769).
  kGcpMalformedToken = 755,     // Not three base64url parts, or header / payload not a JSON object.
  kGcpTokenTooLarge = 756,      // The token, a part, x5c or JSON nesting is over its limit.
  kGcpDuplicateJsonKey = 757,   // A JSON object in the token or JWKS has the same key twice.
  kGcpBadHeader = 758,          // A JOSE header field is missing, mistyped or not understood.
  kGcpBadClaim = 759,           // A required claim is missing, mistyped or out of range.
  kGcpSignatureInvalid = 760,   // The RS256 signature does not verify with the signing key.
  kGcpUnknownKeyId = 761,       // The token's kid is not in the JWKS (or it has no kid).
  kGcpBadJwks = 762,            // A JWKS document is malformed or holds an unusable key.
  kGcpWrongIssuer = 763,        // iss is not https://confidentialcomputing.googleapis.com.
  kGcpWrongAudience = 764,      // aud does not name the expected audience.
  kGcpExpired = 765,            // exp is at or before the verification time (minus skew).
  kGcpNotYetValid = 766,        // nbf is after the verification time (plus skew).
  kGcpWrongSoftware = 767,      // swname is not CONFIDENTIAL_SPACE.
  kGcpHwModelNotAllowed = 768,  // hwmodel is not in the policy's allowed list.
  // Nitro Secure Module provider, /dev/nsm (795-799; 790-794 are taken above).
  kNsmBadRequest = 795,         // A request field is outside the NSM's limits (size, index).
  kNsmMalformedResponse = 796,  // An NSM response is not the CBOR shape its request expects.
  kNsmErrorResponse = 797,      // The NSM answered with an Error value (its name in detail).
  kNsmDeviceError = 798,        // /dev/nsm cannot be opened or its ioctl failed.
  // Evidence policy and TEE providers (770-799).
  kPolicyMalformed = 770,  // A policy file is not valid JSON, or a value has the wrong type.
  kPolicyUnsupportedVersion = 771,  // A policy file's "version" is not one this build reads.
  kPolicyUnknownKey = 772,          // A policy object has a key the format does not define.
  kPolicyMissingKey = 773,          // A policy object lacks a required key.
  kPolicyBadValue = 774,            // A policy value is out of range or of the wrong size.
  kPolicyUnknownPlatform = 775,     // A policy names a platform this build does not know.
  kPolicyNoPlatforms = 776,         // A policy allows no platform at all.
  kPolicyBadRoot = 777,             // A policy root file is unreadable or not a certificate.
  kPolicyTooLarge = 778,            // A policy file is larger than kMaxPolicyFileBytes.
  kPolicyUnknownEvidence = 780,     // Evidence bytes are no format the policy verifier knows.
  kPolicyPlatformNotAllowed = 781,  // The evidence's platform is not allowed by the policy.
  kPolicyUntrustedRoot = 782,       // Nitro-format evidence names no root the policy allows.
  kPolicyBindingRequired = 783,     // The policy requires a binding element the caller lacks.
  kPolicyBindingMismatch = 784,     // Report data does not bind the expected key and nonce.
  kPolicySupportAttribute = 785,    // A GCP token lacks a support attribute the policy requires.
  kTsmUnavailable = 790,            // configfs-tsm is absent or refuses to create a report.
  kTsmGenerationChanged = 791,      // A configfs-tsm report changed while it was being read.
  kTsmBadReport = 792,              // A configfs-tsm outblob/provider is empty, oversized or wrong.
  kTokenSocketUnavailable = 793,    // The Confidential Space token socket cannot be reached.
  kTokenSocketBadResponse = 794,    // The token server answered with an error or malformed data.

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
  kChannelCancelled = 671,             // The stream was cancelled on this side (e.g. shutdown).

  // Application protocol messages (1000-1019).
  kProtocolMessageTooLarge = 1000,        // A message is longer than the protocol's size limit.
  kProtocolBadCbor = 1001,                // A message is not one well-formed CBOR item in limits.
  kProtocolNonCanonical = 1002,           // A message is valid CBOR but not deterministic.
  kProtocolUnsupportedVersion = 1003,     // "v" (or user_data "protocol") is not a known version.
  kProtocolUnknownKey = 1004,             // A map holds a key its message grammar lacks.
  kProtocolMissingField = 1005,           // A required key is absent.
  kProtocolBadField = 1006,               // A field has the wrong type, size or value.
  kProtocolUnknownOp = 1007,              // "op" names an operation this version lacks.
  kProtocolTooManyInputs = 1008,          // An embed request has more inputs than the limit.
  kProtocolInputTooLarge = 1009,          // An input text is longer than the limit.
  kProtocolNoInputs = 1010,               // An embed request has an empty "inputs" array.
  kProtocolBadNonce = 1011,               // A nonce is empty or longer than 64 bytes.
  kProtocolEmbeddingSizeMismatch = 1012,  // Embedding bytes or token counts disagree with count.

  // Enclave runtime (1020-1049).
  kEnclaveNonceTooShort = 1020,  // A nonce is shorter than a receipt's eat_nonce allows (8).
  kEnclaveUnknownModel = 1021,   // A request names a model this enclave has not loaded.
  kEnclaveBadConfig = 1022,      // The enclave's configuration is malformed or out of range.
  kEnclaveShuttingDown = 1023,   // The server is stopping: no new handshake or request starts.
  // Encrypted model boot (1024-1039; src/enclave/model_boot.h).
  kBootBadSignature = 1024,       // The manifest is not signed by the configured owner key.
  kBootModelMismatch = 1025,      // The signed manifest is for another model id or version.
  kBootHashMismatch = 1026,       // A fetched file's size, SHA-256 or the model hash is wrong.
  kBootSegmentInvalid = 1027,     // An encrypted file's header or a segment fails, or is cut.
  kBootKeyUnavailable = 1028,     // The data key source refused or could not give the key.
  kBootStoreUnavailable = 1029,   // The model store cannot be reached, even after retries.
  kBootModelTooLarge = 1030,      // The model is larger than the configured memory bound.
  kBootWrongKey = 1031,           // The data key given does not open the package's files.
  kBootModelNotFound = 1032,      // The store holds no such model version.
  kBootBadManifest = 1033,        // A signed manifest that the boot cannot use (schema, layout).
  kBootEngineFailed = 1034,       // The engine rejects the verified model files.
  kBootKeyDenied = 1035,          // The key broker refused to release the data key (final).
  kBootBrokerUnavailable = 1036,  // The key broker cannot be reached, even after retries.
  kBootKeyBadRequest = 1037,      // The key broker rejected the request (4xx other than 403).

  // Session client (1050-1079).
  kClientBadUserData = 1050,             // The attested user_data is missing or malformed.
  kClientBadResponse = 1051,             // A response record is not the answer to the request.
  kClientRemoteError = 1052,             // The enclave answered the request with an error.
  kClientBadResult = 1053,               // A result map is malformed or inconsistent.
  kClientUnknownModel = 1054,            // A model that the attestation does not name.
  kClientSessionClosed = 1055,           // The session failed earlier and refuses further use.
  kClientReceiptInvalid = 1056,          // A receipt fails AIR checks not listed below.
  kClientReceiptSignature = 1057,        // A receipt is not signed by the attested receipt key.
  kClientReceiptRequestHash = 1058,      // A receipt's request_hash is not of the bytes sent.
  kClientReceiptResponseHash = 1059,     // A receipt's response_hash is not of the result bytes.
  kClientReceiptModelHash = 1060,        // A receipt's model differs from the attested model.
  kClientReceiptAttestationHash = 1061,  // attestation_doc_hash is not the verified document's.
  kClientReceiptSequence = 1062,         // A receipt's sequence_number does not increase.
  kClientReceiptNonce = 1063,            // A receipt's eat_nonce differs from the sent nonce.
  kClientReceiptSecurityMode = 1064,     // security_mode is not what the evidence allows.
  kClientReceiptMeasurements = 1065,     // Receipt platform or measurements differ from evidence.
  kClientEvidenceMismatch = 1066,        // Fresh evidence differs from the handshake's.

  // Command-line tools (900-949).

  // Host relay and local stack (1080-1099).
  kHostTooManyConnections = 1080,   // A client was refused: max_connections are open.
  kHostUpstreamUnavailable = 1081,  // The enclave transport could not be reached in time.
  kHostIdleTimeout = 1082,          // A connection was idle, or stalled mid-frame, too long.
  kHostRecordFailed = 1083,         // A --record file could not be created or written.
  kStackAlreadyRunning = 1084,      // `up` found a stack already running.
  kStackStartFailed = 1085,         // A stack process exited or missed its ready deadline.
  kStackBadState = 1086,            // A ready file or stack.json is missing or malformed.

  // Key broker core and its store (1100-1129).
  kBrokerStoreOpenFailed = 1100,         // The broker database cannot be opened or created.
  kBrokerStoreCorrupt = 1101,            // The database fails its schema or integrity checks.
  kBrokerStoreSchemaTooNew = 1102,       // The database was written by a newer broker.
  kBrokerStoreFailed = 1103,             // A database statement or transaction failed.
  kBrokerBadMasterKey = 1104,            // The master key is missing, malformed, exposed or wrong.
  kBrokerBadRequest = 1105,              // A request field is missing, too long or malformed.
  kBrokerBadPolicy = 1106,               // A release policy is malformed or unusable.
  kBrokerKeyExists = 1107,               // A key is already registered for this model version.
  kBrokerUnknownKey = 1108,              // No key is registered for this model version.
  kBrokerKeyRevoked = 1109,              // The key was revoked and is never released again.
  kBrokerUnknownChallenge = 1110,        // The challenge was never issued by this broker.
  kBrokerChallengeExpired = 1111,        // The challenge's time to live has passed.
  kBrokerChallengeReplayed = 1112,       // The challenge was already used by an earlier release.
  kBrokerEvidenceRejected = 1113,        // The evidence failed a verification step (named).
  kBrokerPlatformNotAllowed = 1114,      // The evidence's platform or root is not in the policy.
  kBrokerMeasurementMismatch = 1115,     // A measurement differs from the policy's pin.
  kBrokerDebugEvidence = 1116,           // Debug-mode evidence under a policy that forbids it.
  kBrokerStaleEvidence = 1117,           // The evidence is older than max_evidence_age_s.
  kBrokerSecurityModeNotAllowed = 1118,  // The platform's security mode is not in the policy.
  kBrokerKeyUnsealFailed = 1119,         // A stored key does not open under the master key.

  // Key broker HTTP service and the keys CLI (1130-1149).
  kBrokerHttpBadBody = 1130,       // A body or query is not strict JSON of the route's shape.
  kBrokerHttpUnauthorized = 1131,  // An admin request lacks the bearer token or it is wrong.
  kBrokerHttpNotFound = 1132,      // No route matches the request's method and path.
  kBrokerHttpBodyTooLarge = 1133,  // A request body exceeds the server's limit.
  kBrokerHttpBadToken = 1134,      // The admin token is missing, malformed or its file not 0600.
  kBrokerHttpListenFailed = 1135,  // The server cannot bind or listen on its address.
  kKeysCliRefused = 1140,          // The broker answered a keys command with an error.
  kKeysCliBadResponse = 1141,      // The broker's answer is not the JSON the command expects.

  // HTTP client, AWS request signing and the S3 model store (1150-1179).
  kHttpBadUrl = 1150,            // A URL is malformed or not http:// or https://.
  kHttpConnect = 1151,           // Connecting failed (refused, DNS, TLS handshake or certificate).
  kHttpTimeout = 1152,           // The exchange did not finish within its timeout.
  kHttpResponseTooLarge = 1153,  // A response's headers or body exceeded the caller's cap.
  kHttpProtocol = 1154,          // The response was not valid HTTP, or the transfer broke off.
  kHttpLibraryFailure = 1155,    // libcurl failed to initialise or reported an unexpected error.
  kAwsNoCredentials = 1160,      // AWS credentials are missing from the environment.
  kAwsAuthFailed = 1161,         // AWS rejected the request's credentials or signature (403).
  kS3UnexpectedStatus = 1170,    // S3 answered with a status the store does not expect.
  kS3Unavailable = 1171,         // S3 kept failing (5xx, throttling, connection) after retries.
  kS3ObjectTooLarge = 1172,      // A file to upload exceeds the single-PUT size limit.
  kS3BadResponse = 1173,         // An S3 response lacks a required header or has a bad one.

  // AWS KMS client and CMS unwrap (1180-1199).
  kCmsMalformed = 1180,          // CMS bytes are not BER EnvelopedData of the expected shape.
  kCmsWrongRecipient = 1181,     // The CMS message is not encrypted to the given key's size.
  kCmsBadAlgorithm = 1182,       // Not RSAES-OAEP SHA-256 key transport or AES-256-CBC content.
  kCmsDecryptFailed = 1183,      // Key unwrap or content decryption failed (one code for all).
  kKmsNoRegion = 1184,           // No region in the key ARN and AWS_REGION is unset.
  kKmsAccessDenied = 1185,       // KMS denied the operation (AccessDeniedException).
  kKmsNotFound = 1186,           // The KMS key does not exist (NotFoundException).
  kKmsInvalidState = 1187,       // The key is disabled, pending deletion or unavailable.
  kKmsInvalidCiphertext = 1188,  // KMS refused a ciphertext blob (InvalidCiphertextException).
  kKmsRequestRejected = 1189,    // KMS rejected the request for another reason (4xx).
  kKmsUnavailable = 1190,        // KMS kept failing (5xx, throttling, connection) after retries.
  kKmsBadResponse = 1191,        // A KMS response is not the JSON shape the operation expects.

  // attest evidence envelope (attest/envelope.h): 1200-1209.
  kEnvelopeTooLarge = 1200,            // An evidence envelope is over kMaxEnvelopeBytes.
  kEnvelopeMalformed = 1201,           // Not the envelope's deterministic CBOR map (keys, types).
  kEnvelopeUnsupportedVersion = 1202,  // The envelope's "v" is not 1.
  kEnvelopeUnknownPlatform = 1203,     // The envelope's "platform" is not tdx, sev-snp or gcp-cs.
  kEnvelopePlatformMismatch = 1204,    // The wrapped evidence is not of the envelope's platform.
  kEnvelopeBindingMismatch = 1205,     // The envelope's key or nonce is not the one expected.
  // Host egress proxy (host/egress_proxy.h): 1210-1219.
  kEgressBadRequest = 1210,     // A CONNECT request head is malformed (answered 400).
  kEgressHeadTooLarge = 1211,   // A CONNECT request head exceeds its size limit (answered 400).
  kEgressNotAllowed = 1212,     // The CONNECT destination is not on the allowlist (answered 403).
  kEgressConnectFailed = 1213,  // The destination did not resolve or connect in time (502).
  kEgressBadAllowEntry = 1214,  // An egress allowlist entry is not HOST:PORT.
  // Host storage proxy (host/store_proxy.h) and HTTP store (model/stores/http_store.h): 1220-1229.
  kStoreReadOnly = 1220,               // The store is read-only (an http:// store refuses Publish).
  kStoreProxyBadPath = 1221,           // A request target is not /v1/store/ID/VERSION/FILE.
  kStoreProxyBadRange = 1222,          // A Range header is not of the form bytes=A-B.
  kStoreProxyRangeUnsupported = 1223,  // A Range the proxy does not serve (several, suffix, open).
  kStoreProxyTooLarge = 1224,          // A whole-file GET is above the proxy's per-request cap.
  kStoreProxyListenFailed = 1225,      // The store proxy cannot bind or listen on its address.
  kHttpStoreBadResponse = 1226,        // A store proxy reply lacks a header, or a header is wrong.
  kHttpStoreUnexpectedStatus = 1227,   // A store proxy answered with an unexpected status.
  // Enclave key release from the key broker (enclave/broker_key_source.h): 1230-1239.
  kReleaseBadAnswer = 1230,         // A broker answer is not the JSON of the expected shape.
  kReleaseOpenFailed = 1231,        // The sealed data key does not open with the enclave's key.
  kReleaseEvidenceMismatch = 1232,  // The answer names other evidence than the enclave sent.
  kReleaseUnexpectedStatus = 1233,  // The broker answered with an HTTP status of no known use.
  // KMS-wrapped package keys (keys/kms/key_file.h, enclave/kms_key_source.h): 1240-1249.
  kKmsKeyFileMalformed = 1240,  // kms-key.json is not the canonical key file (version 1).
  kKmsKeyFileMismatch = 1241,   // kms-key.json differs from the signed manifest's entry or key.
  kKmsNotKmsKey = 1242,         // The manifest's key_id is not "kms:" and a KMS key ARN.
  // Boot configuration from the host (enclave/boot_config.h): 1250-1259.
  kBootConfigMalformed = 1250,    // The host's boot configuration is not the strict JSON document.
  kBootConfigUnreachable = 1251,  // The host's boot configuration could not be read after retries.
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
