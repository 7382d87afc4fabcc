#!/usr/bin/python3
"""Writes the seed corpus of the model_manifest fuzz target (tests/fuzz/corpus/model_manifest).

Canonical manifests (docs/formats.md, "Model manifest") built with Python's own canonical JSON
(json.dumps with sort_keys, compact separators, ensure_ascii=False: the same bytes as ours for
these values), plus one broken variant per parser error family. Deterministic.
"""

import hashlib
import json
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'model_manifest')


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(',', ':'), ensure_ascii=False).encode()


def digest(s):
    return hashlib.sha256(s.encode()).hexdigest()


def manifest(files, scheme='sha256-single', model_hash=None):
    weights = [f for f in files if f['role'] == 'weights']
    return {
        'architecture': 'bert', 'created_at': '2026-11-21T08:00:00Z', 'files': files,
        'format': 'safetensors', 'key_id': 'dek-0011',
        'model_hash': model_hash or (weights[0]['sha256'] if weights else digest('x')),
        'model_hash_scheme': scheme, 'model_id': 'minilm-l6-v2', 'schema_version': 1,
        'signer_key_id': 'ed25519:' + '11' * 32, 'version': '1.0.0'}


def enc(size, seg=1048576):
    segments = max(1, -(-size // seg))
    return {'encrypted_sha256': digest('enc%d' % size), 'encrypted_size': 68 + size + 16 * segments,
            'file_id': 'ab' * 16, 'scheme': 'eml-stream-v1', 'segment_size': seg}


def main():
    os.makedirs(OUT, exist_ok=True)
    cfg = {'encryption': None, 'name': 'config.json', 'role': 'config', 'sha256': digest('c'),
           'size': 612}
    w = {'encryption': enc(90868376), 'name': 'model.safetensors', 'role': 'weights',
         'sha256': digest('w'), 'size': 90868376}
    pool = {'encryption': None, 'name': '1_Pooling/config.json', 'role': 'config',
            'sha256': digest('p'), 'size': 190}
    seeds = {
        'minimal': manifest([cfg, w]),
        'three-files': manifest([pool, cfg, w]),
        'all-encrypted': manifest([dict(cfg, encryption=enc(612, 64)), w]),
        'sharded': manifest([dict(w, name='a.safetensors'), dict(w, name='b.safetensors')],
                            scheme='sha256-concat', model_hash=digest('concat')),
        'unicode-key-id': dict(manifest([cfg, w]), key_id='arn:aws:kms:eu-west-1:1:key/\u00e9'),
    }
    for name, obj in seeds.items():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(canonical(obj))
    good = canonical(seeds['minimal'])
    broken = {
        'pretty': json.dumps(seeds['minimal'], sort_keys=True, indent=1).encode(),
        'unsorted': json.dumps(seeds['minimal'], separators=(',', ':')).encode(),
        'duplicate': good.replace(b'{"architecture":"bert",', b'{"architecture":"bert","architecture":"bert",'),
        'float': good.replace(b'"size":612', b'"size":612.0'),
        'unknown-field': good.replace(b'"version":"1.0.0"', b'"version":"1.0.0","zz":1'),
        'missing-field': good.replace(b'"architecture":"bert",', b''),
        'bad-hash': good.replace(digest('c').encode(), digest('c').upper().encode()),
        'bad-size': good.replace(b'"encrypted_size":90869836', b'"encrypted_size":1'),
        'version-2': good.replace(b'"schema_version":1', b'"schema_version":2'),
        'path-traversal': good.replace(b'"config.json"', b'"../config.json"'),
        'truncated': good[:-7],
    }
    for name, data in broken.items():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
