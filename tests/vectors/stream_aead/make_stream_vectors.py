#!/usr/bin/python3
"""Known-answer vectors for EML STREAM v1 (src/crypto/stream_aead.h, docs/formats.md).

An independent implementation on the `cryptography` package (Debian python3-cryptography): it
shares no code with the C++ side. Run from the repository root:
    /usr/bin/python3 tests/vectors/stream_aead/make_stream_vectors.py > tests/vectors/stream_aead/kat.json
The output is deterministic (fixed keys, file ids and nonce prefixes).
"""
import hashlib
import hmac
import json
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"EMLS"
VERSION = 1
SUITE = 1
TAG = 16


def key_check(dek: bytes) -> bytes:
    return hmac.new(dek, b"EphemeralML STREAM v1 key check", hashlib.sha256).digest()[:16]


def file_keys(dek: bytes, file_id: bytes, prefix: bytes):
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=file_id + prefix,
               info=b"EphemeralML STREAM v1 keys").derive(dek)
    return okm[:32], okm[32:]


def encrypt(dek: bytes, file_id: bytes, prefix: bytes, segment_size: int, plaintext: bytes) -> bytes:
    assert len(dek) == 32 and len(file_id) == 16 and len(prefix) == 7
    head = (MAGIC + bytes([VERSION, SUITE]) + b"\x00\x00" + struct.pack(">I", segment_size) +
            file_id + prefix + b"\x00" + key_check(dek))
    assert len(head) == 52
    seg_key, mac_key = file_keys(dek, file_id, prefix)
    header = head + hmac.new(mac_key, head, hashlib.sha256).digest()[:16]
    assert len(header) == 68
    aead = ChaCha20Poly1305(seg_key)
    chunks = [plaintext[i:i + segment_size] for i in range(0, len(plaintext), segment_size)]
    if not chunks:
        chunks = [b""]
    out = bytearray(header)
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        nonce = prefix + struct.pack(">I", i) + (b"\x01" if last else b"\x00")
        out += aead.encrypt(nonce, chunk, header)
    return bytes(out)


def pattern(n: int, seed: int) -> bytes:
    return bytes((i * 131 + seed * 17 + (i >> 8)) & 0xFF for i in range(n))


def main() -> None:
    cases = []
    dek_a = bytes(range(32))
    dek_b = hashlib.sha256(b"eml stream kat key b").digest()
    fid_a = bytes.fromhex("00112233445566778899aabbccddeeff")
    fid_b = hashlib.sha256(b"file b").digest()[:16]
    pre_a = bytes.fromhex("a0a1a2a3a4a5a6")
    pre_b = hashlib.sha256(b"prefix b").digest()[:7]
    for name, dek, fid, pre, seg, n in [
        ("empty", dek_a, fid_a, pre_a, 64, 0),
        ("one-byte", dek_a, fid_a, pre_a, 64, 1),
        ("one-short-segment", dek_a, fid_a, pre_a, 64, 63),
        ("exactly-one-segment", dek_a, fid_a, pre_a, 64, 64),
        ("one-segment-plus-one", dek_a, fid_a, pre_a, 64, 65),
        ("exactly-two-segments", dek_b, fid_b, pre_b, 64, 128),
        ("five-segments-partial", dek_b, fid_b, pre_b, 64, 300),
        ("segment-100-seven", dek_b, fid_a, pre_b, 100, 650),
        ("segment-4096-three", dek_a, fid_b, pre_a, 4096, 10000),
    ]:
        pt = pattern(n, len(cases))
        ct = encrypt(dek, fid, pre, seg, pt)
        cases.append({
            "name": name,
            "key_hex": dek.hex(),
            "file_id_hex": fid.hex(),
            "nonce_prefix_hex": pre.hex(),
            "segment_size": seg,
            "plaintext_hex": pt.hex(),
            "ciphertext_hex": ct.hex(),
        })
    json.dump({"format": "EML STREAM v1", "generator": "make_stream_vectors.py",
               "count": len(cases), "cases": cases}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
