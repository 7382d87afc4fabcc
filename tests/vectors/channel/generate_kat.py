#!/usr/bin/python3
"""Known-answer vectors for the EphemeralML secure channel (cmt protocol version 4).

An independent implementation of the byte layouts in docs/protocol.md (frame header, Hello
payloads, mock attestation envelope, labelled transcript, key schedule, confirmation hash,
record sealing), written from the layout description with Python's `cryptography` package.
Run with /usr/bin/python3; writes kat.json beside this script. Deterministic: fixed keys
(RFC 7748 section 6.1) and fixed nonces.
"""
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MAGIC = 0xCF4D
VERSION = 4
T_HELLO, T_DATA, T_ERROR, T_HEARTBEAT, T_SHUTDOWN, T_TENSOR = 1, 2, 3, 4, 5, 6
F_ENCRYPTED, F_TENSOR, F_BATCH, F_COMPRESSED = 1, 2, 4, 8


def header(msg_type, flags, seq, payload_len):
    return struct.pack(">HBBBII", MAGIC, VERSION, msg_type, flags, seq, payload_len)


def frame(msg_type, flags, seq, payload):
    return header(msg_type, flags, seq, len(payload)) + payload


def mock_envelope(user_data, nonce, public_key):
    out = b"MOCK_ATT_V1\x00"
    for field in (user_data, nonce, public_key):
        out += struct.pack("<I", len(field)) + field
    return out


def labelled(label, value):
    return bytes([len(label)]) + label + struct.pack(">H", len(value)) + value


def transcript(init_doc_hash, resp_doc_hash, pk_a, pk_b, combined_nonce):
    low, high = sorted([pk_a, pk_b])
    data = (labelled(b"init-attestation-hash", init_doc_hash)
            + labelled(b"resp-attestation-hash", resp_doc_hash)
            + labelled(b"pk-low", low) + labelled(b"pk-high", high)
            + labelled(b"combined-nonce", combined_nonce)
            + labelled(b"protocol-version", bytes([VERSION])))
    return data, hashlib.sha256(data).digest()


def hkdf(salt, ikm, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def aad(msg_type, flags, session_id, seq):
    return bytes([VERSION, msg_type, flags]) + session_id + struct.pack(">Q", seq)


def record_nonce(seq):
    return b"\x00" * 4 + struct.pack(">Q", seq)


def seal_record(key, session_id, msg_type, flags, seq, plaintext):
    a = aad(msg_type, flags, session_id, seq)
    ct = ChaCha20Poly1305(key).encrypt(record_nonce(seq), plaintext, a)
    return a, ct, frame(msg_type, flags, seq, ct)


def pub(priv):
    return priv.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def main():
    hx = bytes.hex
    out = {"protocol_version": VERSION}

    # Frame headers.
    cases = [(T_HELLO, 0, 0, 65), (T_DATA, F_ENCRYPTED, 7, 0),
             (T_TENSOR, F_ENCRYPTED | F_TENSOR | F_BATCH | F_COMPRESSED, 0xFFFFFFFF, 32 << 20),
             (T_SHUTDOWN, F_ENCRYPTED, 0x01020304, 0x0A0B0C0D)]
    out["frame_headers"] = [
        {"msg_type": t, "flags": f, "sequence": s, "payload_len": n, "encoded": hx(header(t, f, s, n))}
        for (t, f, s, n) in cases]

    # Handshake with RFC 7748 section 6.1 keys: Alice initiates, Bob responds.
    a_priv = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    b_priv = bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
    ka = X25519PrivateKey.from_private_bytes(a_priv)
    kb = X25519PrivateKey.from_private_bytes(b_priv)
    pk_i, pk_r = pub(ka), pub(kb)
    nonce_i = bytes(range(0, 32))
    nonce_r = bytes(range(0x20, 0x40))
    doc_i = mock_envelope(b"", nonce_i, pk_i)
    doc_r = mock_envelope(b"", nonce_r, pk_r)
    hello_i = b"\x01" + pk_i + nonce_i + struct.pack(">I", len(doc_i)) + doc_i
    hello_r = b"\x02" + pk_r + nonce_r + struct.pack(">I", len(doc_r)) + doc_r
    combined = bytes(x ^ y for x, y in zip(nonce_i, nonce_r))
    t_input, t_hash = transcript(hashlib.sha256(doc_i).digest(), hashlib.sha256(doc_r).digest(),
                                 pk_i, pk_r, combined)
    shared = ka.exchange(X25519PublicKey.from_public_bytes(pk_r))
    assert shared == kb.exchange(X25519PublicKey.from_public_bytes(pk_i))
    k_i2r = hkdf(t_hash, shared, b"cmt-initiator-to-responder")
    k_r2i = hkdf(t_hash, shared, b"cmt-responder-to-initiator")
    session_id = hkdf(None, t_hash, b"cmt-session-id")
    confirmation = hashlib.sha256(b"cmt-confirmation" + session_id + k_i2r + k_r2i).digest()
    confirm_payload = b"\x03" + confirmation
    out["handshake"] = {
        "initiator_private": hx(a_priv), "responder_private": hx(b_priv),
        "initiator_public": hx(pk_i), "responder_public": hx(pk_r),
        "initiator_nonce": hx(nonce_i), "responder_nonce": hx(nonce_r),
        "initiator_doc": hx(doc_i), "responder_doc": hx(doc_r),
        "initiator_hello_frame": hx(frame(T_HELLO, 0, 0, hello_i)),
        "responder_hello_frame": hx(frame(T_HELLO, 0, 0, hello_r)),
        "confirmation_frame": hx(frame(T_HELLO, 0, 1, confirm_payload)),
        "combined_nonce": hx(combined),
        "transcript_input": hx(t_input), "transcript_hash": hx(t_hash),
        "shared_secret": hx(shared),
        "key_initiator_to_responder": hx(k_i2r), "key_responder_to_initiator": hx(k_r2i),
        "session_id": hx(session_id), "confirmation_hash": hx(confirmation),
    }

    # Records in both directions after that handshake.
    recs = []
    for direction, key, t, f, seq, pt in [
            ("i2r", k_i2r, T_DATA, F_ENCRYPTED, 0, b"hello enclave"),
            ("i2r", k_i2r, T_DATA, F_ENCRYPTED, 1, b""),
            ("i2r", k_i2r, T_TENSOR, F_ENCRYPTED | F_TENSOR, 2, bytes(range(256)) * 3),
            ("r2i", k_r2i, T_DATA, F_ENCRYPTED, 0, b"hello client"),
            ("r2i", k_r2i, T_SHUTDOWN, F_ENCRYPTED, 5, b"bye")]:
        a, ct, fr = seal_record(key, session_id, t, f, seq, pt)
        recs.append({"direction": direction, "msg_type": t, "flags": f, "sequence": seq,
                     "plaintext": hx(pt), "aad": hx(a), "nonce": hx(record_nonce(seq)),
                     "ciphertext": hx(ct), "frame": hx(fr)})
    out["records"] = recs

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kat.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
