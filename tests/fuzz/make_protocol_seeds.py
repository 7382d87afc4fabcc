#!/usr/bin/env python3
"""Writes the seed corpus of the protocol_messages fuzz target (docs/protocol.md section 2).

Every message kind in its deterministic encoding (cbor2 canonical mode sorts map keys
length-first, as RFC 8949 section 4.2.3 / our encoder do), plus one broken variant per rule the
decoders enforce. Run from the repository root: python3 tests/fuzz/make_protocol_seeds.py
"""
import os
import struct

import cbor2

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "protocol_messages")


def enc(value):
    return cbor2.dumps(value, canonical=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    embed = {"v": 1, "id": 7, "op": "embed", "inputs": ["hello", "world"]}
    seeds = {
        "request_embed": embed,
        "request_embed_nonce_model": dict(embed, nonce=b"\x11" * 32, model="all-MiniLM-L6-v2"),
        "request_evidence": {"v": 1, "id": 8, "op": "evidence", "nonce": b"\x22" * 16},
        "request_unknown_op": dict(embed, op="generate"),
        "request_unknown_key": dict(embed, extra=1),
        "request_v2": dict(embed, v=2),
        "request_no_inputs": dict(embed, inputs=[]),
        "request_too_many_inputs": dict(embed, inputs=["a"] * 9),
        "request_long_input": dict(embed, inputs=["x" * 65]),
        "request_empty_nonce": dict(embed, nonce=b""),
        "response_ok": {"v": 1, "id": 7, "result": b"\xa0", "receipt": b"\xd2\x84"},
        "response_error": {"v": 1, "id": 7, "error": {"code": 1008, "message": "too many"}},
        "response_both": {"v": 1, "id": 7, "result": b"\xa0", "receipt": b"\x00",
                          "error": {"code": 1, "message": ""}},
        "embed_result": {"model": "m", "dim": 2, "count": 2,
                         "embeddings": struct.pack("<4f", 0.5, -1.0, 0.25, 2.0),
                         "token_counts": [3, 4]},
        "embed_result_mismatch": {"model": "m", "dim": 2, "count": 2,
                                  "embeddings": b"\x00" * 12, "token_counts": [3, 4]},
        "evidence_result": {"attestation_doc": b"\x84\x44" + b"\x00" * 30},
        "user_data": {"v": 1, "protocol": 4, "receipt_key": b"\x33" * 32,
                      "models": [{"id": "all-MiniLM-L6-v2", "model_hash": b"\x44" * 32,
                                  "model_hash_scheme": "sha256-single"}]},
        "user_data_protocol3": {"v": 1, "protocol": 3, "receipt_key": b"\x33" * 32,
                                "models": []},
    }
    for name, value in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(enc(value))
    # Byte-level breakage: non-shortest id, unsorted keys, indefinite array, truncation.
    raw = {
        "request_nonshortest_id": bytes.fromhex(
            "a46176016269641807626f7065656d62656466696e7075747381626869"),
        "request_unsorted_keys": bytes.fromhex(
            "a462696407617601626f7065656d62656466696e7075747381626869"),
        "request_indefinite_inputs": bytes.fromhex(
            "a461760162696407626f7065656d62656466696e707574739f626869ff"),
        "request_truncated": enc(embed)[:-1],
    }
    for name, data in raw.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(seeds) + len(raw)} seeds to {OUT}")


if __name__ == "__main__":
    main()
