#!/usr/bin/python3
"""Generates the AIR v1 extra vectors in this folder (see README.md).

An implementation of AIR v1 issuing independent of the C++ one: cbor2 for CBOR and the
`cryptography` package for Ed25519, signing with the golden seed 0x2A * 32. Before writing
anything it re-creates both shipped valid vectors byte for byte from their claims, so the
encoder here is known to agree with the reference.

Usage: /usr/bin/python3 tests/vectors/air-extra/generate.py [--shared DIR] [--check]
  --shared  the shared folder (default: ../shared next to the repository)
  --check   do not write; fail if any file differs from what would be written
"""

import argparse
import json
import os
import sys

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = bytes([0x2A] * 32)
KEY = Ed25519PrivateKey.from_private_bytes(SEED)
PUBLIC_KEY_HEX = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
PROFILE = "https://spec.cyntrisec.com/air/v1"
PROTECTED = bytes.fromhex("a2012703183d")
IAT = 1740500000

# Claim keys.
ISS, IAT_K, CTI, NONCE, PROF = 1, 6, 7, 10, 265
MODEL_ID, MODEL_VERSION, MODEL_HASH, REQUEST_HASH = -65537, -65538, -65539, -65540
RESPONSE_HASH, AD_HASH, MEAS, POLICY_VERSION = -65541, -65542, -65543, -65544
SEQ, EXEC_MS, MEM_MB, SEC_MODE, SCHEME = -65545, -65546, -65547, -65548, -65549


def canonical(value):
    """Deterministic CBOR (RFC 8949 s4.2.3 length-first key order; cbor2 canonical mode)."""
    return cbor2.dumps(value, canonical=True)


def sign(protected, payload):
    sig_structure = canonical(["Signature1", protected, b"", payload])
    return KEY.sign(sig_structure)


def envelope(protected, unprotected, payload, signature, tag=18):
    body = [protected, unprotected, payload, signature]
    return cbor2.dumps(cbor2.CBORTag(tag, body) if tag is not None else body)


def base_claims(cti_last_byte):
    """The shipped Nitro golden claims with a cti of our own (01..0f, last byte varies)."""
    return {
        ISS: "cyntrisec.com",
        IAT_K: IAT,
        CTI: bytes(range(1, 16)) + bytes([cti_last_byte]),
        PROF: PROFILE,
        MODEL_ID: "minilm-l6-v2",
        MODEL_VERSION: "1.0.0",
        MODEL_HASH: b"\xaa" * 32,
        REQUEST_HASH: b"\xbb" * 32,
        RESPONSE_HASH: b"\xcc" * 32,
        AD_HASH: b"\xdd" * 32,
        MEAS: {
            "measurement_type": "nitro-pcr",
            "pcr0": b"\x01" * 48,
            "pcr1": b"\x02" * 48,
            "pcr2": b"\x03" * 48,
        },
        POLICY_VERSION: "policy-2026.02",
        SEQ: 42,
        EXEC_MS: 116,
        MEM_MB: 512,
        SEC_MODE: "production",
    }


def receipt_for(claims, protected=PROTECTED, unprotected=None, tag=18):
    payload = canonical(claims)
    return envelope(protected, unprotected or {}, payload, sign(protected, payload), tag)


def claims_from_vector_json(c):
    """The shipped vectors' readable claims -> the CBOR claims map."""
    out = {
        ISS: c["iss"], IAT_K: c["iat"], CTI: bytes.fromhex(c["cti_hex"]), PROF: c["eat_profile"],
        MODEL_ID: c["model_id"], MODEL_VERSION: c["model_version"],
        MODEL_HASH: bytes.fromhex(c["model_hash_hex"]),
        REQUEST_HASH: bytes.fromhex(c["request_hash_hex"]),
        RESPONSE_HASH: bytes.fromhex(c["response_hash_hex"]),
        AD_HASH: bytes.fromhex(c["attestation_doc_hash_hex"]),
        POLICY_VERSION: c["policy_version"], SEQ: c["sequence_number"],
        EXEC_MS: c["execution_time_ms"], MEM_MB: c["memory_peak_mb"],
        SEC_MODE: c["security_mode"],
    }
    if c.get("eat_nonce_hex"):
        out[NONCE] = bytes.fromhex(c["eat_nonce_hex"])
    m = c["enclave_measurements"]
    meas = {"measurement_type": m["measurement_type"]}
    for pcr in ("pcr0", "pcr1", "pcr2", "pcr3", "pcr4", "pcr8"):
        if m.get(pcr + "_hex"):
            meas[pcr] = bytes.fromhex(m[pcr + "_hex"])
    out[MEAS] = meas
    return out


def self_check(shared):
    """Re-creates the shipped valid vectors; stops if a single byte differs."""
    for name in ("v1-nitro-no-nonce", "v1-tdx-with-nonce"):
        with open(os.path.join(shared, "vectors/air/valid", name + ".json")) as f:
            vector = json.load(f)
        assert vector["public_key_hex"] == PUBLIC_KEY_HEX, "golden public key differs"
        mine = receipt_for(claims_from_vector_json(vector["claims"])).hex()
        if mine != vector["receipt_hex"]:
            sys.exit("self-check failed: %s is not reproduced byte for byte" % name)


def failure(layer, check, code, reason):
    return {"expected_failure": {"layer": layer, "check": check, "code": code, "reason": reason}}


def make_vectors():
    """Returns [(name, description, receipt bytes, outcome dict, verify_policy dict)]."""
    v = []

    def add(name, description, receipt, outcome, policy=None):
        v.append((name, description, receipt, outcome, policy or {}))

    # --- Layer 1: envelope.
    c = base_claims(0x20)
    # Pad model_id so the whole receipt is exactly 65,537 bytes (one over the limit).
    c[MODEL_ID] = "m"
    short = len(receipt_for(c))
    pad = 65537 - short
    c[MODEL_ID] = "m" * (1 + pad)
    grown = receipt_for(c)
    c[MODEL_ID] = "m" * (1 + pad - (len(grown) - 65537))
    oversize = receipt_for(c)
    assert len(oversize) == 65537, len(oversize)
    add("oversize", "Signed receipt of 65,537 bytes (a 65,000-byte model_id): refused before "
        "parsing.", oversize, failure(1, "SIZE", "RECEIPT_TOO_LARGE", "65,537 > 65,536 bytes"))

    add("untagged", "The golden-shaped receipt without CBOR tag 18.",
        receipt_for(base_claims(0x21), tag=None),
        failure(1, "COSE_DECODE", "UNTAGGED_RECEIPT", "COSE_Sign1 must carry tag 18"))

    payload = canonical(base_claims(0x22))
    add("not-cose-sign1", "Tag 18 around a 3-element array (no signature element).",
        cbor2.dumps(cbor2.CBORTag(18, [PROTECTED, {}, payload])),
        failure(1, "COSE_DECODE", "COSE_DECODE_FAILED", "not a 4-element COSE_Sign1"))

    add("unprotected-kid", "Unprotected header carries kid (label 4); AIR v1 requires it empty.",
        receipt_for(base_claims(0x23), unprotected={4: b"receipt-key-1"}),
        failure(1, "UNPROTECTED", "NON_EMPTY_UNPROTECTED", "unprotected header is not empty"))

    add("bad-content-type", "Protected header {1: -8, 3: 60}: content type is not 61, signed "
        "over that header.", receipt_for(base_claims(0x24), protected=canonical({1: -8, 3: 60})),
        failure(1, "CONTENT_TYPE", "BAD_CONTENT_TYPE", "content type 60, expected 61"))

    add("extra-protected-param", "Protected header {1: -8, 3: 61, 4: h'6b6964'}: a parameter "
        "besides alg and content type.",
        receipt_for(base_claims(0x25), protected=canonical({1: -8, 3: 61, 4: b"kid"})),
        failure(1, "PROTECTED", "UNEXPECTED_HEADER_PARAM", "label 4 in the protected header"))

    payload = canonical(base_claims(0x26))
    add("nil-payload", "Payload is nil (detached); the signature covers the real payload.",
        envelope(PROTECTED, {}, None, sign(PROTECTED, payload)),
        failure(1, "PAYLOAD", "MISSING_PAYLOAD", "payload is nil"))

    def signed_payload(payload_bytes):
        return envelope(PROTECTED, {}, payload_bytes, sign(PROTECTED, payload_bytes))

    add("payload-not-cbor", "Payload bytes a1 01: a map cut short, correctly signed.",
        signed_payload(bytes.fromhex("a101")),
        failure(1, "CLAIMS_DECODE", "PAYLOAD_DECODE_FAILED", "payload is not one CBOR item"))

    add("payload-not-map", "Payload is the CBOR array [1, 2], correctly signed.",
        signed_payload(canonical([1, 2])),
        failure(1, "CLAIMS_DECODE", "PAYLOAD_NOT_MAP", "payload is an array"))

    # --- Layer 1: claims shape.
    c = base_claims(0x27)
    c[-65550] = "extension"
    add("unknown-claim", "Extra claim -65550 (reserved for v1.x): the claims map is closed.",
        receipt_for(c), failure(1, "CLAIMS_DECODE", "UNKNOWN_CLAIM", "claim key -65550"))

    # Duplicate key: 16 entries plus iss again, hand-assembled (cbor2 cannot write duplicates).
    c = base_claims(0x28)
    body = canonical(c)
    assert body[0] == 0xB0
    dup = bytes([0xB1]) + body[1:] + canonical(1) + canonical("evil.example")
    add("duplicate-claim", "iss appears twice in the claims map.", signed_payload(dup),
        failure(1, "CLAIMS_DECODE", "DUPLICATE_CLAIM", "key 1 twice"))

    c = base_claims(0x29)
    c[IAT_K] = str(IAT)
    add("wrong-type", "iat is a text string instead of an unsigned integer.", receipt_for(c),
        failure(1, "CLAIMS_DECODE", "WRONG_TYPE", "iat is tstr"))

    c = base_claims(0x2A)
    del c[POLICY_VERSION]
    add("missing-claim", "policy_version (-65544) is absent.", receipt_for(c),
        failure(1, "CLAIMS_DECODE", "MISSING_CLAIM", "required claim absent"))

    c = base_claims(0x2B)
    c[REQUEST_HASH] = b"\xbb" * 31
    add("bad-hash-length", "request_hash is 31 bytes.", receipt_for(c),
        failure(1, "CLAIMS_DECODE", "BAD_HASH_LENGTH", "request_hash must be 32 bytes"))

    c = base_claims(0x2C)
    c[CTI] = c[CTI][:15]
    add("bad-cti-length", "cti is 15 bytes.", receipt_for(c),
        failure(1, "CLAIMS_DECODE", "BAD_CTI_LENGTH", "cti must be 16 bytes"))

    c = base_claims(0x2D)
    c[NONCE] = bytes(range(1, 8))
    add("bad-nonce-length", "eat_nonce is 7 bytes (minimum 8).", receipt_for(c),
        failure(1, "CLAIMS_DECODE", "BAD_NONCE_LENGTH", "eat_nonce must be 8..64 bytes"))

    c = base_claims(0x2E)
    c[MODEL_VERSION] = "1" * 129
    add("text-bounds", "model_version is 129 bytes (maximum 128).", receipt_for(c),
        failure(1, "CLAIMS_DECODE", "TEXT_BOUNDS", "model_version too long"))

    c = base_claims(0x2F)
    c[IAT_K] = 0
    add("zero-iat", "iat is 0.", receipt_for(c),
        failure(1, "CLAIMS_DECODE", "ZERO_IAT", "iat must not be 0"))

    c = base_claims(0x30)
    c[PROF] = "https://spec.cyntrisec.com/air/v2"
    add("wrong-profile", "eat_profile names a v2 profile.", receipt_for(c),
        failure(1, "EAT_PROFILE", "WRONG_PROFILE", "unknown eat_profile"))

    # --- Layer 1: determinism.
    c = base_claims(0x31)
    reversed_order = dict(reversed(list(c.items())))
    body = cbor2.dumps(reversed_order)  # insertion order: not canonical
    assert body != canonical(c)
    add("non-canonical-order", "Claims map keys in reverse order (signed as sent).",
        signed_payload(body),
        failure(1, "CANONICAL", "NON_CANONICAL_ENCODING", "map keys not in deterministic order"))
    add("non-canonical-allowed", "The non-canonical-order receipt under allow_non_canonical: "
        "verified, with the code kept as a warning.", signed_payload(body),
        {"expected_verification": {"verified": True, "warning": {
            "check": "CANONICAL", "code": "NON_CANONICAL_ENCODING"}}},
        {"allow_non_canonical": True})

    c = base_claims(0x32)
    body = canonical(c)
    # sequence_number 42 is 18 2a; write it as 19 00 2a (valid CBOR, not shortest).
    needle = canonical(SEQ) + bytes.fromhex("182a")
    assert body.count(needle) == 1
    body = body.replace(needle, canonical(SEQ) + bytes.fromhex("19002a"))
    add("non-shortest-head", "sequence_number 42 encoded with a 2-byte argument.",
        signed_payload(body),
        failure(1, "CANONICAL", "NON_CANONICAL_ENCODING", "integer not in shortest form"))

    reversed_header = bytes.fromhex("a203183d0127")
    add("non-canonical-protected", "Protected header {3: 61, 1: -8} (keys out of order).",
        receipt_for(base_claims(0x33), protected=reversed_header),
        failure(1, "CANONICAL", "NON_CANONICAL_ENCODING", "protected header keys out of order"))

    # --- Layer 2.
    c = base_claims(0x34)
    payload = canonical(c)
    add("bad-sig-length", "Signature truncated to 63 bytes.",
        envelope(PROTECTED, {}, payload, sign(PROTECTED, payload)[:63]),
        failure(2, "SIG", "BAD_SIG_LENGTH", "signature must be 64 bytes"))

    # --- Layer 3.
    c = base_claims(0x35)
    c[CTI] = bytes(16)
    add("zero-cti", "cti is 16 zero bytes.", receipt_for(c),
        failure(3, "CTI", "ZERO_CTI", "cti is all zero"))

    c = base_claims(0x36)
    c[MEAS]["measurement_type"] = "sev-snp-vcek"
    add("unknown-mtype", "measurement_type sev-snp-vcek (not registered in v1.0).",
        receipt_for(c), failure(3, "MTYPE", "UNKNOWN_MTYPE", "unknown measurement_type"))

    c = base_claims(0x37)
    c[MEAS] = {"measurement_type": "tdx-mrtd-rtmr", "pcr0": b"\x10" * 48,
               "pcr1": b"\x20" * 48, "pcr2": b"\x30" * 48, "pcr8": b"\x80" * 48}
    add("tdx-with-pcr8", "TDX measurements that include pcr8 (Nitro only).", receipt_for(c),
        failure(3, "MEAS", "TDX_WITH_PCR8", "pcr8 with tdx-mrtd-rtmr"))

    c = base_claims(0x38)
    c[SCHEME] = "sha3-single"
    add("unknown-hash-scheme", "model_hash_scheme sha3-single (not registered).",
        receipt_for(c),
        failure(3, "MHASH_SCHEME", "UNKNOWN_MODEL_HASH_SCHEME", "unknown model_hash_scheme"))

    c = base_claims(0x39)
    c[SEC_MODE] = "debug"
    add("unknown-security-mode", "security_mode debug.", receipt_for(c),
        failure(3, "SECURITY_MODE", "UNKNOWN_SECURITY_MODE", "only production and evaluation"))

    c = base_claims(0x3A)
    c[SEC_MODE] = "GatewayOnly"
    legacy = receipt_for(c)
    add("legacy-gateway-only", "security_mode GatewayOnly (pre-v1 spelling), default policy.",
        legacy, failure(3, "SECURITY_MODE", "UNKNOWN_SECURITY_MODE", "legacy value rejected"))
    add("legacy-gateway-only-compat", "The GatewayOnly receipt with map_legacy_gateway_only: "
        "verified as production.", legacy, {"expected_verification": {"verified": True}},
        {"map_legacy_gateway_only": True})

    # --- Layer 4.
    c = base_claims(0x3B)
    c[SEC_MODE] = "evaluation"
    evaluation = receipt_for(c)
    add("evaluation-rejected", "security_mode evaluation under the default policy.", evaluation,
        failure(4, "SECURITY_MODE_POLICY", "EVALUATION_MODE_REJECTED", "evaluation not allowed"))
    add("evaluation-allowed", "The evaluation receipt with allow_evaluation.", evaluation,
        {"expected_verification": {"verified": True}}, {"allow_evaluation": True})

    add("security-mode-mismatch", "A production receipt, policy expects evaluation.",
        receipt_for(base_claims(0x3C)),
        failure(4, "SECURITY_MODE_POLICY", "SECURITY_MODE_MISMATCH", "production != evaluation"),
        {"expected_security_mode": "evaluation", "allow_evaluation": True})

    c = base_claims(0x3D)
    c[IAT_K] = IAT + 3600
    add("future-iat", "iat one hour after the verifier's now_unix (skew 60 s).", receipt_for(c),
        failure(4, "FRESH", "TIMESTAMP_FUTURE", "iat 3600 s ahead"),
        {"now_unix": IAT, "max_age_secs": 300, "clock_skew_secs": 60})

    add("clock-error", "Verifier clock before 1970 (now_unix = -1).",
        receipt_for(base_claims(0x3E)), failure(4, "FRESH", "CLOCK_ERROR", "clock unusable"),
        {"now_unix": -1, "max_age_secs": 3600})

    add("nonce-missing", "No eat_nonce, policy requires one.", receipt_for(base_claims(0x3F)),
        failure(4, "NONCE", "NONCE_MISSING", "require_nonce"), {"require_nonce": True})

    c = base_claims(0x40)
    add("replayed-cti", "The cti is in the verifier's seen set.", receipt_for(c),
        failure(4, "REPLAY", "REPLAY_CTI", "cti seen before"),
        {"seen_cti_hex": [bytes(16).hex()[:-2] + "01", c[CTI].hex()]})

    add("request-hash-mismatch", "request_hash BB*32, policy expects EE*32.",
        receipt_for(base_claims(0x41)),
        failure(4, "RHASH", "REQUEST_HASH_MISMATCH", "request_hash differs"),
        {"expected_request_hash_hex": "ee" * 32})
    add("response-hash-mismatch", "response_hash CC*32, policy expects EE*32.",
        receipt_for(base_claims(0x42)),
        failure(4, "OHASH", "RESPONSE_HASH_MISMATCH", "response_hash differs"),
        {"expected_response_hash_hex": "ee" * 32})
    add("attestation-hash-mismatch", "attestation_doc_hash DD*32, policy expects EE*32.",
        receipt_for(base_claims(0x43)),
        failure(4, "ADHASH", "ATTESTATION_DOC_HASH_MISMATCH", "attestation_doc_hash differs"),
        {"expected_attestation_doc_hash_hex": "ee" * 32})
    add("model-id-mismatch", "model_id minilm-l6-v2, policy expects bge-small.",
        receipt_for(base_claims(0x44)),
        failure(4, "MODEL", "MODEL_ID_MISMATCH", "model_id differs"),
        {"expected_model_id": "bge-small"})

    # --- A receipt using every optional claim, every policy check set and passing.
    c = base_claims(0x45)
    c[NONCE] = bytes(range(0x40, 0x60))
    c[SCHEME] = "sha256-manifest"
    c[MEAS].update({"pcr3": b"\x04" * 48, "pcr4": b"\x05" * 48, "pcr8": b"\x08" * 48})
    add("full-policy-pass", "Nitro receipt with eat_nonce, model_hash_scheme, pcr3/4/8, checked "
        "against every policy expectation.", receipt_for(c),
        {"expected_verification": {"verified": True}},
        {"now_unix": IAT + 10, "max_age_secs": 300, "clock_skew_secs": 60,
         "expected_model_hash_hex": "aa" * 32, "expected_request_hash_hex": "bb" * 32,
         "expected_response_hash_hex": "cc" * 32, "expected_attestation_doc_hash_hex": "dd" * 32,
         "expected_model_id": "minilm-l6-v2", "expected_security_mode": "production",
         "expected_platform": "nitro-pcr", "expected_nonce_hex": c[NONCE].hex(),
         "require_nonce": True, "seen_cti_hex": ["00" * 15 + "01"]})
    return v


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=os.path.join(HERE, "../../../../shared"))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    self_check(args.shared)
    vectors = make_vectors()
    names = set()
    stale = []
    for name, description, receipt, outcome, policy in vectors:
        assert name not in names, name
        names.add(name)
        doc = {"name": name, "description": description, "receipt_hex": receipt.hex(),
               "public_key_hex": PUBLIC_KEY_HEX}
        doc.update(outcome)
        if policy:
            doc["verify_policy"] = policy
        text = json.dumps(doc, indent=2) + "\n"
        path = os.path.join(HERE, name + ".json")
        if args.check:
            if not os.path.exists(path) or open(path).read() != text:
                stale.append(name)
        else:
            with open(path, "w") as f:
                f.write(text)
    if stale:
        sys.exit("stale vectors: " + ", ".join(stale))
    print("%d vectors %s" % (len(vectors), "checked" if args.check else "written"))


if __name__ == "__main__":
    main()
