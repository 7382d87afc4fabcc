#!/usr/bin/python3
"""Generates cbor2_corpus.json: random nested CBOR items encoded by Python's cbor2 with
canonical=True, each with a typed JSON description of the value that went in.

Run with Debian's /usr/bin/python3 (python3-cbor2). Uses cbor2's pure-Python encoder
(cbor2.encoder.dumps), see main(). The seed is fixed, so the output only changes
when this script or cbor2 changes. Description grammar (one JSON array per item):
  ["uint", "<decimal>"]          unsigned integer 0..2^64-1
  ["nint", "<decimal arg>"]      the integer -1 - arg, arg 0..2^64-1
  ["bytes", "<hex>"]  ["text", "<string>"]
  ["array", [<item>...]]  ["map", [[<key>, <value>]...]] (in Python insertion order)
  ["tag", "<decimal>", <item>]   ["bool", true|false]  ["null"]  ["undefined"]
  ["simple", <n>]                ["float", "<hex of the IEEE 754 double bits, big-endian>"]
"""

import json
import math
import random
import struct
import sys

import cbor2.encoder
from cbor2.types import CBORSimpleValue, CBORTag, undefined

SEED = 20240509
COUNT = 1000
MAX_DEPTH = 5


def rand_length(rng, depth):
    # Long containers only near the top, so items stay small (median tens of bytes).
    if depth <= 1 and rng.random() < 0.1:
        return rng.choice([23, 24, 30])
    return rng.choice([0, 1, 2, 3, 5])


def rand_int(rng):
    kind = rng.randrange(7)
    if kind == 0:
        return rng.randrange(0, 24)
    if kind == 1:
        return rng.choice([23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1])
    if kind == 2:
        return -rng.choice([1, 24, 25, 256, 257, 65536, 65537, 2**32, 2**32 + 1, 2**64])
    if kind == 3:
        return rng.randrange(-2**64, 2**64)
    if kind == 4:  # bignum: cbor2 writes tag 2 / 3
        magnitude = rng.randrange(2**64, 2**100)
        return magnitude if rng.random() < 0.5 else -magnitude - 1
    return rng.randrange(-100000, 100000)


def rand_float(rng):
    kind = rng.randrange(8)
    if kind == 0:
        return rng.choice([0.0, -0.0, math.inf, -math.inf, math.nan, 1.0, -4.0, 65504.0,
                           5.960464477539063e-8, 6.103515625e-05, 3.4028234663852886e38,
                           1.401298464324817e-45, 2.2250738585072014e-308, 5e-324])
    if kind == 1:  # exactly a half: up to 11 significant bits
        return rng.randrange(-2047, 2048) * 2.0 ** rng.randrange(-24, 6)
    if kind == 2:  # exactly a single
        return struct.unpack('>f', struct.pack('>f', rng.uniform(-1e30, 1e30)))[0]
    if kind == 3:
        return rng.uniform(-1e6, 1e6)
    if kind == 4:
        return struct.unpack('>d', rng.getrandbits(64).to_bytes(8, 'big'))[0]
    return rng.random() * 10.0 ** rng.randrange(-300, 300)


def rand_text(rng):
    alphabet = 'abcXYZ019 _-"\\\u00fc\u00e9\u6c34\u20ac\U0001f600\U00010151\n\t'
    return ''.join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 3, 8, 23, 24, 30])))


def rand_bytes(rng):
    if rng.random() < 0.9:
        return bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 4, 23, 24, 40])))
    return bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 4, 23, 24, 40, 256])))


def rand_key(rng):
    kind = rng.randrange(5)
    if kind == 0:
        return rand_text(rng)
    if kind == 1:
        return rand_bytes(rng)
    if kind == 2:
        return rand_float(rng)
    if kind == 3:
        return rng.choice([True, False, None])
    return rand_int(rng)


def rand_item(rng, depth):
    kinds = ['int', 'int', 'float', 'text', 'bytes', 'simple', 'special']
    if depth < MAX_DEPTH:
        kinds += ['array', 'map', 'tag'] * (2 if depth < 2 else 1)
    kind = rng.choice(kinds)
    if depth == 0 and rng.random() < 0.7:
        kind = rng.choice(['array', 'map', 'map', 'tag'])
    if kind == 'int':
        return rand_int(rng)
    if kind == 'float':
        return rand_float(rng)
    if kind == 'text':
        return rand_text(rng)
    if kind == 'bytes':
        return rand_bytes(rng)
    if kind == 'simple':
        return CBORSimpleValue(rng.choice([0, 5, 16, 19, 32, 100, 255]))
    if kind == 'special':
        return rng.choice([True, False, None, undefined])
    if kind == 'array':
        return [rand_item(rng, depth + 1) for _ in range(rand_length(rng, depth))]
    if kind == 'map':
        out = {}
        for _ in range(rand_length(rng, depth)):
            key = rand_key(rng)
            if isinstance(key, float) and math.isnan(key):
                continue  # NaN keys are never equal in Python; one NaN key would be fine
            if any(describe(key) == describe(k) for k in out):
                continue
            out[key] = rand_item(rng, depth + 1)
        return out
    # Tags with no built-in cbor2 meaning (cbor2 would convert 0, 1, 2, ... to Python types).
    tag = rng.choice([6, 7, 17, 18, 42, 1000, 55799, 2**32, 2**64 - 1])
    return CBORTag(tag, rand_item(rng, depth + 1))


def describe(obj):
    if obj is True or obj is False:
        return ['bool', obj]
    if obj is None:
        return ['null']
    if obj is undefined:
        return ['undefined']
    if isinstance(obj, CBORSimpleValue):
        return ['simple', obj.value]
    if isinstance(obj, int):
        if 0 <= obj < 2**64:
            return ['uint', str(obj)]
        if -2**64 <= obj < 0:
            return ['nint', str(-1 - obj)]
        tag, magnitude = (2, obj) if obj > 0 else (3, -1 - obj)
        raw = magnitude.to_bytes((magnitude.bit_length() + 7) // 8, 'big')
        return ['tag', str(tag), ['bytes', raw.hex()]]
    if isinstance(obj, float):
        return ['float', struct.pack('>d', obj).hex()]
    if isinstance(obj, str):
        return ['text', obj]
    if isinstance(obj, bytes):
        return ['bytes', obj.hex()]
    if isinstance(obj, list):
        return ['array', [describe(x) for x in obj]]
    if isinstance(obj, dict):
        return ['map', [[describe(k), describe(v)] for k, v in obj.items()]]
    if isinstance(obj, CBORTag):
        return ['tag', str(obj.tag), describe(obj.value)]
    raise TypeError(type(obj))


def main():
    rng = random.Random(SEED)
    items = []
    for _ in range(COUNT):
        obj = rand_item(rng, 0)
        # The pure-Python encoder: the C extension's dumps (cbor2 5.4.6) writes floats from 32768 to
        # 65504 that fit a half as singles (65504.0 -> fa477fe000, RFC 8949 says f97bff).
        items.append({'hex': cbor2.encoder.dumps(obj, canonical=True).hex(),
                      'value': describe(obj)})
    from importlib import metadata
    version = metadata.version('cbor2')
    out = {'generator': 'tests/vectors/cbor/generate_corpus.py', 'cbor2_version': version,
           'seed': SEED, 'count': len(items), 'items': items}
    path = sys.argv[1] if len(sys.argv) > 1 else 'cbor2_corpus.json'
    with open(path, 'w') as f:
        json.dump(out, f, indent=0, ensure_ascii=True)
        f.write('\n')


if __name__ == '__main__':
    main()
