#!/usr/bin/env python3
"""Builds ONNX graphs of all-MiniLM-L6-v2 (BERT encoder + mean pooling + L2 normalize) directly
from model.safetensors, for the comparison peers of `make bench-peers`.

Writes into the model cache directory (never into the repository):
  model.onnx       fp32, opset 17: LayerNormalization, GELU as 0.5*x*(1+Erf(x/sqrt(2))),
                   attention as MatMul/Softmax with an additive mask built from attention_mask.
  model.int8.onnx  the same graph after onnxruntime.quantization.quantize_dynamic (int8 weights,
                   per-channel scales; activations quantized per call by ONNX Runtime).
Inputs input_ids, attention_mask, token_type_ids: int64 [batch, sequence] (both dynamic).
Output sentence_embedding: float [batch, 384].

Validation (default on): runs ONNX Runtime on the token ids of every case in
tests/vectors/embeddings/minilm_reference.json.gz (sentence-transformers output) and on its
padded batches; fails unless every fp32 cosine >= 0.99999. Prints the max abs diff of both graphs.
The safetensors reader here is a few lines of numpy, independent of the C++ loader.

Usage: .venv/bin/python scripts/export-onnx.py [--model-dir DIR] [--no-check] [--force]
"""

import argparse
import gzip
import json
import math
import os
import struct
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
DEFAULT_MODEL_DIR = os.path.expanduser('~/.cache/ephemeralml/models/all-MiniLM-L6-v2')
REFERENCE = os.path.join(ROOT, 'tests', 'vectors', 'embeddings', 'minilm_reference.json.gz')
OPSET = 17
IR_VERSION = 8  # the IR version that introduced opset 17; widest runtime support
MIN_COSINE_FP32 = 0.99999

DTYPES = {'F32': np.float32, 'F16': np.float16, 'I64': np.int64}


def read_safetensors(path):
    with open(path, 'rb') as f:
        blob = f.read()
    (header_len,) = struct.unpack_from('<Q', blob, 0)
    header = json.loads(blob[8:8 + header_len])
    data = blob[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        begin, end = info['data_offsets']
        array = np.frombuffer(data[begin:end], dtype=DTYPES[info['dtype']])
        tensors[name] = array.reshape(info['shape'])
    return tensors


class GraphBuilder:
    def __init__(self, weights):
        self.weights = weights
        self.nodes = []
        self.initializers = []
        self.counter = 0

    def name(self, hint):
        self.counter += 1
        return '%s_%d' % (hint, self.counter)

    def const(self, hint, array):
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def weight(self, tensor_name, transpose=False):
        array = self.weights[tensor_name].astype(np.float32)
        return self.const(tensor_name, array.T if transpose else array)

    def op(self, op_type, inputs, hint=None, **attrs):
        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def linear(self, x, prefix):
        # PyTorch Linear stores [out, in]; MatMul wants [in, out].
        y = self.op('MatMul', [x, self.weight(prefix + '.weight', transpose=True)])
        return self.op('Add', [y, self.weight(prefix + '.bias')])

    def layer_norm(self, x, prefix, eps):
        return self.op('LayerNormalization',
                       [x, self.weight(prefix + '.weight'), self.weight(prefix + '.bias')],
                       axis=-1, epsilon=eps)


def build_graph(weights, config):
    hidden = config['hidden_size']
    heads = config['num_attention_heads']
    head_dim = hidden // heads
    eps = float(config['layer_norm_eps'])
    g = GraphBuilder(weights)

    # Embeddings: word + position (0..S-1) + token type, then LayerNorm.
    # Positions 0..S-1 are the first S rows of the table: Slice, with 1-D starts/ends (a scalar
    # Range feeding Gather is rewritten by ONNX Runtime's optimizer into an invalid Slice).
    zero_1d = g.const('zero_1d', np.array([0], np.int64))
    seq_len = g.op('Slice', [g.op('Shape', ['input_ids']), g.const('one_1d', np.array([1])),
                             g.const('two_1d', np.array([2])), zero_1d])
    positions = g.op('Slice', [g.weight('embeddings.position_embeddings.weight'), zero_1d,
                               seq_len, zero_1d])
    x = g.op('Gather', [g.weight('embeddings.word_embeddings.weight'), 'input_ids'], axis=0)
    x = g.op('Add', [x, positions])
    x = g.op('Add', [x, g.op('Gather', [g.weight('embeddings.token_type_embeddings.weight'),
                                        'token_type_ids'], axis=0)])
    x = g.layer_norm(x, 'embeddings.LayerNorm', eps)

    # Additive mask [B, 1, 1, S]: 0 where attended, float32 min where padded (as transformers).
    mask = g.op('Cast', ['attention_mask'], to=TensorProto.FLOAT)
    inverted = g.op('Sub', [g.const('one_f', np.array(1.0, np.float32)), mask])
    additive = g.op('Mul', [inverted, g.const('neg', np.array(np.finfo(np.float32).min,
                                                              np.float32))])
    additive = g.op('Unsqueeze', [additive, g.const('axes12', np.array([1, 2], np.int64))])

    split_heads = g.const('split_shape', np.array([0, 0, heads, head_dim], np.int64))
    merge_heads = g.const('merge_shape', np.array([0, 0, hidden], np.int64))
    scale = g.const('scale', np.array(1.0 / math.sqrt(head_dim), np.float32))
    sqrt2 = g.const('sqrt2', np.array(math.sqrt(2.0), np.float32))
    half = g.const('half', np.array(0.5, np.float32))
    one = g.const('one', np.array(1.0, np.float32))
    for layer in range(config['num_hidden_layers']):
        p = 'encoder.layer.%d.' % layer

        def heads_of(name, perm):
            y = g.op('Reshape', [g.linear(x, p + 'attention.self.' + name), split_heads])
            return g.op('Transpose', [y], perm=perm)

        q = heads_of('query', [0, 2, 1, 3])  # [B, h, S, d]
        k = heads_of('key', [0, 2, 3, 1])    # [B, h, d, S]
        v = heads_of('value', [0, 2, 1, 3])  # [B, h, S, d]
        scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k]), scale]), additive])
        probs = g.op('Softmax', [scores], axis=-1)
        context = g.op('Transpose', [g.op('MatMul', [probs, v])], perm=[0, 2, 1, 3])
        context = g.op('Reshape', [context, merge_heads])
        attn = g.linear(context, p + 'attention.output.dense')
        x = g.layer_norm(g.op('Add', [attn, x]), p + 'attention.output.LayerNorm', eps)

        h = g.linear(x, p + 'intermediate.dense')
        erf = g.op('Erf', [g.op('Div', [h, sqrt2])])
        h = g.op('Mul', [g.op('Mul', [h, half]), g.op('Add', [erf, one])])
        out = g.linear(h, p + 'output.dense')
        x = g.layer_norm(g.op('Add', [out, x]), p + 'output.LayerNorm', eps)

    # Mean pooling over attended tokens (sentence-transformers clamps the count at 1e-9).
    mask3 = g.op('Unsqueeze', [mask, g.const('axis2', np.array([2], np.int64))])
    axis1 = g.const('axis1', np.array([1], np.int64))
    summed = g.op('ReduceSum', [g.op('Mul', [x, mask3]), axis1], keepdims=0)
    count = g.op('ReduceSum', [mask3, axis1], keepdims=0)
    count = g.op('Max', [count, g.const('min_count', np.array(1e-9, np.float32))])
    mean = g.op('Div', [summed, count])

    # L2 normalize as torch.nn.functional.normalize: x / max(||x||, 1e-12).
    norm = g.op('Sqrt', [g.op('ReduceSum', [g.op('Mul', [mean, mean]), axis1], keepdims=1)])
    norm = g.op('Max', [norm, g.const('min_norm', np.array(1e-12, np.float32))])
    g.nodes.append(helper.make_node('Div', [mean, norm], ['sentence_embedding'], name='normalize'))

    dims = ['batch', 'sequence']
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, dims)
              for n in ('input_ids', 'attention_mask', 'token_type_ids')]
    outputs = [helper.make_tensor_value_info('sentence_embedding', TensorProto.FLOAT,
                                             ['batch', hidden])]
    graph = helper.make_graph(g.nodes, 'all-MiniLM-L6-v2', inputs, outputs, g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)],
                              producer_name='ephemeralml-export-onnx')
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def write_atomically(path, data):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.' + os.path.basename(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def quantize(fp32_path, int8_path):
    from onnxruntime.quantization import QuantType, quantize_dynamic
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(int8_path), suffix='.onnx',
                               prefix='.' + os.path.basename(int8_path))
    os.close(fd)
    try:
        # Per-channel weight scales: MiniLM has outlier output channels, and one scale per tensor
        # drops the median cosine to sentence-transformers from 0.99 to 0.95 (min 0.84).
        quantize_dynamic(fp32_path, tmp, weight_type=QuantType.QInt8, per_channel=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, int8_path)
    except BaseException:
        os.unlink(tmp)
        raise


def session(path):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3  # the quantizer's shape annotations draw harmless merge warnings
    return ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])


def run(sess, id_rows):
    length = max(len(r) for r in id_rows)
    ids = np.zeros((len(id_rows), length), np.int64)
    mask = np.zeros((len(id_rows), length), np.int64)
    for i, row in enumerate(id_rows):
        ids[i, :len(row)] = row
        mask[i, :len(row)] = 1
    feed = {'input_ids': ids, 'attention_mask': mask, 'token_type_ids': np.zeros_like(ids)}
    return sess.run(['sentence_embedding'], feed)[0]


def check_tokenizer(model_dir, cases):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(model_dir, 'tokenizer.json'))
    tok.no_padding()
    tok.enable_truncation(256)
    mismatches = [c['index'] for c in cases if tok.encode(c['text']).ids != c['input_ids']]
    print('export-onnx: tokenizers %s ids match the reference on %d/%d cases'
          % (__import__('tokenizers').__version__, len(cases) - len(mismatches), len(cases)))
    return mismatches


def validate(model_dir, paths):
    if not os.path.exists(REFERENCE):
        print('export-onnx: %s absent, validation skipped' % REFERENCE)
        return True
    with gzip.open(REFERENCE, 'rt', encoding='utf-8') as f:
        ref = json.load(f)
    cases = ref['cases']
    ok = not check_tokenizer(model_dir, cases)
    for label, path in paths:
        sess = session(path)
        max_diff, min_cos = 0.0, 1.0
        for c in cases:
            got = run(sess, [c['input_ids']])[0]
            want = np.array(c['embedding'], np.float32)
            max_diff = max(max_diff, float(np.max(np.abs(got - want))))
            min_cos = min(min_cos, float(np.dot(got, want) /
                                         (np.linalg.norm(got) * np.linalg.norm(want))))
        batch_diff = 0.0
        for b in ref['batches']:
            got = run(sess, [cases[i]['input_ids'] for i in b['indices']])
            batch_diff = max(batch_diff, float(np.max(np.abs(got - np.array(b['embeddings'])))))
        print('export-onnx: %s vs sentence-transformers (%d cases): max abs diff %.3g, '
              'min cosine %.9f; padded batches max abs diff %.3g'
              % (label, len(cases), max_diff, min_cos, batch_diff))
        if label == 'fp32' and min_cos < MIN_COSINE_FP32:
            print('export-onnx: error: fp32 cosine %.9f below %s' % (min_cos, MIN_COSINE_FP32),
                  file=sys.stderr)
            ok = False
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--model-dir', default=os.environ.get('EML_MODEL_DIR') or DEFAULT_MODEL_DIR)
    parser.add_argument('--force', action='store_true', help='rebuild even if the files exist')
    parser.add_argument('--no-check', action='store_true', help='skip validation')
    args = parser.parse_args()

    weights_path = os.path.join(args.model_dir, 'model.safetensors')
    if not os.path.exists(weights_path):
        sys.exit('export-onnx: %s missing; run scripts/fetch-model' % weights_path)
    fp32_path = os.path.join(args.model_dir, 'model.onnx')
    int8_path = os.path.join(args.model_dir, 'model.int8.onnx')
    if args.force or not os.path.exists(fp32_path):
        with open(os.path.join(args.model_dir, 'config.json')) as f:
            config = json.load(f)
        model = build_graph(read_safetensors(weights_path), config)
        write_atomically(fp32_path, model.SerializeToString())
        print('export-onnx: wrote %s (%d nodes)' % (fp32_path, len(model.graph.node)))
    if args.force or not os.path.exists(int8_path):
        quantize(fp32_path, int8_path)
        print('export-onnx: wrote %s' % int8_path)
    if not args.no_check and not validate(args.model_dir, [('fp32', fp32_path),
                                                           ('int8', int8_path)]):
        sys.exit(1)


if __name__ == '__main__':
    main()
