#!/usr/bin/python3
"""Writes the seed corpus of the cbor_decode and cose_sign1 fuzz targets.

cbor_decode: every RFC 8949 Appendix A example (hex typed in from the RFC), a few malformed
items for each decoder error path, and the AIR v1 receipts and payloads from the shared vectors.
cose_sign1: AIR v1 receipts (valid and invalid), the COSE WG example messages, and the Nitro
attestation documents from the shared vectors. Run from the repository root with EML_SHARED_DIR
set (default /work/shared).
"""

import glob
import json
import os

SHARED = os.environ.get('EML_SHARED_DIR', '/work/shared')
ROOT = os.path.dirname(os.path.abspath(__file__))

RFC8949 = """00 01 0a 17 1818 1819 1864 1903e8 1a000f4240 1b000000e8d4a51000 1bffffffffffffffff
c249010000000000000000 3bffffffffffffffff c349010000000000000000 20 29 3863 3903e7 f90000 f98000
f93c00 fb3ff199999999999a f93e00 f97bff fa47c35000 fa7f7fffff fb7e37e43c8800759c f90001 f90400
f9c400 fbc010666666666666 f97c00 f97e00 f9fc00 fa7f800000 fa7fc00000 faff800000
fb7ff0000000000000 fb7ff8000000000000 fbfff0000000000000 f4 f5 f6 f7 f0 f8ff
c074323031332d30332d32315432303a30343a30305a c11a514b67b0 c1fb41d452d9ec200000 d74401020304
d818456449455446 d82076687474703a2f2f7777772e6578616d706c652e636f6d 40 4401020304 60 6161
6449455446 62225c 62c3bc 63e6b0b4 64f0908591 80 83010203 8301820203820405
98190102030405060708090a0b0c0d0e0f101112131415161718181819 a0 a201020304 a26161016162820203
826161a161626163 a56161614161626142616361436164614461656145 5f42010243030405ff
7f657374726561646d696e67ff 9fff 9f018202039f0405ffff 9f01820203820405ff 83018202039f0405ff
83019f0203ff820405 9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff
bf61610161629f0203ffff 826161bf61626163ff bf6346756ef563416d7421ff""".split()

MALFORMED = {
    'truncated-head': '19ff', 'truncated-array': '830102', 'huge-count': '9bffffffffffffffff00',
    'trailing': '0000', 'deep': '81' * 40 + '00', 'non-shortest': '1900ff',
    'dup-key': 'a20101010202', 'unsorted': 'a2616201616102', 'reserved': '1c',
    'bad-simple': 'f818', 'bad-utf8': '62c0af', 'stray-break': '82ff', 'bad-chunk': '5f6161ff',
    'split-utf8-chunks': '7f61c361bcff', 'nan-payload': 'f97e01', 'wide-float-key': 'a1fa3fc0000001',
}


def write(target, name, data):
    folder = os.path.join(ROOT, 'corpus', target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), 'wb') as f:
        f.write(data)


def main():
    for i, hex_item in enumerate(RFC8949):
        write('cbor_decode', 'rfc8949-%02d' % i, bytes.fromhex(hex_item))
    for name, hex_item in MALFORMED.items():
        write('cbor_decode', 'bad-' + name, bytes.fromhex(hex_item))
    for path in sorted(glob.glob(os.path.join(SHARED, 'vectors/air/*/*.json'))):
        vector = json.load(open(path))
        stem = os.path.splitext(os.path.basename(path))[0]
        if 'receipt_hex' in vector:
            receipt = bytes.fromhex(vector['receipt_hex'])
            write('cose_sign1', 'air-' + stem, receipt)
            if '/valid/' in path:
                write('cbor_decode', 'air-receipt-' + stem, receipt)
        if 'payload_hex' in vector and '/valid/' in path:
            write('cbor_decode', 'air-payload-' + stem, bytes.fromhex(vector['payload_hex']))
    for path in sorted(glob.glob(os.path.join(SHARED, 'vectors/cose/*/*.json'))):
        vector = json.load(open(path))
        out = vector.get('output', {}).get('cbor')
        if out:
            stem = os.path.splitext(os.path.basename(path))[0]
            write('cose_sign1', 'cose-wg-' + stem, bytes.fromhex(out))
    for path in sorted(glob.glob(os.path.join(SHARED, 'vectors/nitro/*/*.bin'))):
        stem = os.path.basename(os.path.dirname(path)) + '-' + os.path.basename(path)[:-4]
        data = open(path, 'rb').read()
        if len(data) <= 16384:
            write('cose_sign1', 'nitro-' + stem, data)


if __name__ == '__main__':
    main()
