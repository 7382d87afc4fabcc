#!/usr/bin/python3
"""Writes the seed corpus of the model_safetensors fuzz target (tests/fuzz/corpus/model_safetensors).

Small crafted safetensors files: valid ones for each dtype family, metadata, zero-sized tensors
and a tiny BERT (hidden 4, 1 layer, LayerNorm gamma/beta spelling) so ResolveBertWeightNames gets
past its first lookup; and one file per loader error. Run from anywhere; deterministic.
"""

import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'model_safetensors')


def raw(header, data=b'', declared=None):
    text = header if isinstance(header, bytes) else header.encode()
    return struct.pack('<Q', len(text) if declared is None else declared) + text + data


def build(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, bytes), laid out back to back."""
    header, data = {}, b''
    if metadata:
        header['__metadata__'] = metadata
    for name, dtype, shape, blob in tensors:
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header, separators=(',', ':'))
    text += ' ' * (-len(text) % 8)
    return raw(text, data)


def f32(*values):
    return struct.pack('<%df' % len(values), *values)


def tiny_bert():
    h, i, v, p, t = 4, 8, 10, 6, 2
    tensors = []

    def add(name, shape):
        n = 1
        for d in shape:
            n *= d
        tensors.append((name, 'F32', shape, f32(*([0.25] * n))))

    add('embeddings.word_embeddings.weight', [v, h])
    add('embeddings.position_embeddings.weight', [p, h])
    add('embeddings.token_type_embeddings.weight', [t, h])
    add('embeddings.LayerNorm.gamma', [h])
    add('embeddings.LayerNorm.beta', [h])
    pre = 'encoder.layer.0.'
    for m in ('query', 'key', 'value'):
        add(pre + 'attention.self.%s.weight' % m, [h, h])
        add(pre + 'attention.self.%s.bias' % m, [h])
    add(pre + 'attention.output.dense.weight', [h, h])
    add(pre + 'attention.output.dense.bias', [h])
    add(pre + 'attention.output.LayerNorm.gamma', [h])
    add(pre + 'attention.output.LayerNorm.beta', [h])
    add(pre + 'intermediate.dense.weight', [i, h])
    add(pre + 'intermediate.dense.bias', [i])
    add(pre + 'output.dense.weight', [h, i])
    add(pre + 'output.dense.bias', [h])
    add(pre + 'output.LayerNorm.gamma', [h])
    add(pre + 'output.LayerNorm.beta', [h])
    return build(tensors)


ENTRY = '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'

SEEDS = {
    'valid-f32': build([('a', 'F32', [2], f32(1.0, -2.0)), ('b', 'F32', [1, 1], f32(0.5))]),
    'valid-f16-bf16': build([('h', 'F16', [3], bytes.fromhex('003c00c00100')),
                             ('b', 'BF16', [2], bytes.fromhex('803f00bf'))]),
    'valid-ints-metadata': build([('ids', 'I64', [1, 2], struct.pack('<2q', 0, 1)),
                                  ('mask', 'BOOL', [2], b'\x01\x00'),
                                  ('w', 'F32', [1], f32(3.0))], {'format': 'pt'}),
    'valid-empty-header': raw('{}'),
    'valid-zero-sized': build([('e', 'F32', [0, 3], b''), ('x', 'F32', [1], f32(1.0))]),
    'valid-tiny-bert': tiny_bert(),
    'bad-truncated-prefix': b'\x10\x00\x00',
    'bad-header-past-end': raw('{}', declared=64),
    'bad-not-object': raw('[1,2]'),
    'bad-deep': raw('{"t":{"dtype":"F32","shape":[[[1]]],"data_offsets":[0,4]}}', f32(0)),
    'bad-duplicate': raw('{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                         '"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(0)),
    'bad-dtype': raw(ENTRY.replace('F32', 'Q4'), f32(0)),
    'bad-shape': raw(ENTRY.replace('[1]', '[-1]'), f32(0)),
    'bad-offsets': raw(ENTRY.replace('[0,4]', '[4,0]'), f32(0)),
    'bad-size': raw(ENTRY.replace('[1]', '[2]'), f32(0)),
    'bad-overflow': raw(ENTRY.replace('[1]', '[4294967296,4294967296]'), f32(0)),
    'bad-overlap': raw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                       '"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(0, 0)),
    'bad-hole': raw(ENTRY, f32(0, 0)),
    'bad-metadata': raw('{"__metadata__":{"k":1}}'),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, blob in sorted(SEEDS.items()):
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(blob)
    print('wrote %d seeds to %s' % (len(SEEDS), OUT))


if __name__ == '__main__':
    main()
