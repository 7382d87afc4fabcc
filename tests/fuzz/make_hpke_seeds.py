#!/usr/bin/python3
"""Writes the seed corpus of the crypto_hpke_open fuzz target.

Each seed is: selector byte || enc || ciphertext. The selector picks the AEAD the target uses
(0: ChaCha20-Poly1305, 1: AES-128-GCM, 2: AES-256-GCM); the target's recipient keys, info and
aad are those of the RFC 9180 base-mode vectors, so the `valid-*` seeds are the first message
(seq 0) of each vector and open successfully. The other seeds reach each failure path: short
and empty enc, a small-order enc, a truncated and a tampered ciphertext. Run with
EML_SHARED_DIR set (default /work/shared).
"""

import json
import os

SHARED = os.environ.get('EML_SHARED_DIR', '/work/shared')
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'crypto_hpke_open')
SELECTOR = {3: 0, 1: 1, 2: 2}  # aead_id -> selector byte (target's Recipients() order)
NAMES = {1: 'aes128gcm', 2: 'aes256gcm', 3: 'chacha20poly1305'}


def write(name, data):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(SHARED, 'vectors/hpke/rfc9180-x25519-sha256-subset.json')) as f:
        vectors = json.load(f)
    chacha = None
    for v in vectors:
        if v['mode'] != 0 or v['aead_id'] not in SELECTOR:
            continue
        first = v['encryptions'][0]
        assert bytes.fromhex(first['aad']) == b'Count-0'
        assert bytes.fromhex(v['info']) == b'Ode on a Grecian Urn'
        seed = bytes([SELECTOR[v['aead_id']]]) + bytes.fromhex(v['enc']) + bytes.fromhex(first['ct'])
        write('valid-' + NAMES[v['aead_id']], seed)
        if v['aead_id'] == 3:
            chacha = seed
    write('empty-enc', bytes([0]))
    write('short-enc', chacha[:20])
    write('small-order-enc', bytes([0]) + bytes(32) + chacha[33:])
    write('truncated-ct', chacha[:33 + 15])
    tampered = bytearray(chacha)
    tampered[-1] ^= 0x80
    write('tampered-tag', bytes(tampered))


if __name__ == '__main__':
    main()
