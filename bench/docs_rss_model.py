#!/usr/bin/env python3
"""docs_rss_model.py [--max-seq N] VOCAB OUT_DIR - writes a tiny Hugging Face
BertModel folder (config.json, model.safetensors, vocab.txt,
tokenizer_config.json, special_tokens_map.json, modules.json,
1_Pooling/config.json, sentence_bert_config.json) that `offgrid convert`
turns into a GGUF encoder.

Why: bench/docs_rss.sh measures the memory of `offgrid docs add` over a
1 GB corpus; with all-MiniLM-L6-v2 that would take days, all of it in the
encoder. This model keeps everything else real - MiniLM's own WordPiece
vocabulary (VOCAB: its vocab.txt, or the all-MiniLM-L6-v2 GGUF, whose
tokens are read back to vocab.txt spelling), so tokenizing costs what it
really costs; 512 positions; mean pooling - but has 1 layer, hidden 32,
2 heads and intermediate 64. Its encoder reads the first N tokens of each text
(sentence_bert_config.json max_seq_length; default 32, MiniLM's is 256):
the chunker and the tokenizer still see every token, but attention, which
costs each token one step per other token of its text and is scalar code
built for MiniLM's 32-wide heads, no longer sets the pace. Measured on
one 571 KB Markdown file, 2 threads on a busy 2-core machine: 9.8 s at
256, 1.5 s at 32, 1.3 s at 8. Its weights are random (seeded, so the
file is the same every run): its vectors mean nothing, and are not meant
to.

Standard library only (no numpy on the machine): the tensors are F32
arrays packed with the array module.
"""
import array
import json
import os
import random
import struct
import sys

HIDDEN, HEADS, FF, LAYERS, POSITIONS, TYPES = 32, 2, 64, 1, 512, 2


def tensors(n_vocab, rng):
    """(name, shape, values) in PyTorch's [out, in] layout."""
    def rand(*shape):
        n = 1
        for s in shape:
            n *= s
        return shape, array.array("f", (rng.gauss(0.0, 0.02) for _ in range(n)))

    def const(v, n):
        return (n,), array.array("f", [v]) * n

    out = [
        ("embeddings.word_embeddings.weight",) + rand(n_vocab, HIDDEN),
        ("embeddings.position_embeddings.weight",) + rand(POSITIONS, HIDDEN),
        ("embeddings.token_type_embeddings.weight",) + rand(TYPES, HIDDEN),
        ("embeddings.LayerNorm.weight",) + const(1.0, HIDDEN),
        ("embeddings.LayerNorm.bias",) + const(0.0, HIDDEN),
    ]
    for i in range(LAYERS):
        p = "encoder.layer.%d." % i
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            out.append((p + name + ".weight",) + rand(HIDDEN, HIDDEN))
            out.append((p + name + ".bias",) + const(0.0, HIDDEN))
        out.append((p + "attention.output.LayerNorm.weight",) + const(1.0, HIDDEN))
        out.append((p + "attention.output.LayerNorm.bias",) + const(0.0, HIDDEN))
        out.append((p + "intermediate.dense.weight",) + rand(FF, HIDDEN))
        out.append((p + "intermediate.dense.bias",) + const(0.0, FF))
        out.append((p + "output.dense.weight",) + rand(HIDDEN, FF))
        out.append((p + "output.dense.bias",) + const(0.0, HIDDEN))
        out.append((p + "output.LayerNorm.weight",) + const(1.0, HIDDEN))
        out.append((p + "output.LayerNorm.bias",) + const(0.0, HIDDEN))
    return out


def write_safetensors(path, items):
    """The safetensors layout: u64 little-endian header length, the JSON
    header (name -> dtype, shape, data_offsets), then the raw data."""
    header, offset = {}, 0
    for name, shape, values in items:
        size = len(values) * 4
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # the data starts 8-byte aligned
    if sys.byteorder != "little":
        for _, _, values in items:
            values.byteswap()
    with open(path + ".partial", "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for _, _, values in items:
            values.tofile(f)
    os.replace(path + ".partial", path)


GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def gguf_vocab(path):
    """vocab.txt lines from a BERT GGUF's tokenizer.ggml.tokens, undoing
    the converter's phantom-space spelling: control tokens stay, a
    leading U+2581 goes, and a token without one was a "##" continuation."""
    with open(path, "rb") as f:
        def take(fmt):
            return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))[0]

        def string():
            return f.read(take("Q")).decode("utf-8")

        def value(t):
            if t == 8:
                return string()
            if t == 9:
                et, n = take("I"), take("Q")
                return [value(et) for _ in range(n)]
            if t not in GGUF_SCALARS:
                raise ValueError("%s: unknown GGUF value type %d" % (path, t))
            return take(GGUF_SCALARS[t])

        if f.read(4) != b"GGUF":
            raise ValueError("%s is not a GGUF file" % path)
        take("I")
        take("Q")
        kv = {}
        for _ in range(take("Q")):
            key, t = string(), take("I")
            kv[key] = value(t)
    tokens, types = kv.get("tokenizer.ggml.tokens"), kv.get("tokenizer.ggml.token_type")
    if kv.get("tokenizer.ggml.model") != "bert" or not tokens or len(types or []) != len(tokens):
        raise ValueError("%s has no BERT WordPiece vocabulary" % path)
    phantom = "\u2581"
    return [tok if ty == 3 else tok[1:] if tok.startswith(phantom) else "##" + tok for tok, ty in zip(tokens, types)]


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def main():
    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    max_seq = 32
    if len(args) == 4 and args[0] == "--max-seq" and args[1].isdigit() and 2 < int(args[1]) <= POSITIONS:
        max_seq, args = int(args[1]), args[2:]
    if len(args) != 2:
        print("usage: docs_rss_model.py [--max-seq N (3..%d)] VOCAB OUT_DIR" % POSITIONS, file=sys.stderr)
        return 2
    vocab_txt, out = args
    try:
        if vocab_txt.endswith(".gguf"):
            vocab = gguf_vocab(vocab_txt)
        else:
            with open(vocab_txt, encoding="utf-8") as f:
                vocab = f.read().splitlines()
    except (OSError, ValueError, UnicodeDecodeError, struct.error) as e:
        print("docs_rss_model.py: %s" % e, file=sys.stderr)
        return 1
    for tok in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"):
        if tok not in vocab:
            print("docs_rss_model.py: %s has no %s: not a BERT WordPiece vocabulary" % (vocab_txt, tok),
                  file=sys.stderr)
            return 1
    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    write_json(os.path.join(out, "config.json"), {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
        "hidden_size": HIDDEN, "num_attention_heads": HEADS, "intermediate_size": FF,
        "num_hidden_layers": LAYERS, "max_position_embeddings": POSITIONS, "type_vocab_size": TYPES,
        "vocab_size": len(vocab), "layer_norm_eps": 1e-12, "pad_token_id": 0,
    })
    write_json(os.path.join(out, "tokenizer_config.json"), {
        "do_lower_case": True, "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]", "sep_token": "[SEP]",
        "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]", "model_max_length": POSITIONS,
    })
    write_json(os.path.join(out, "special_tokens_map.json"), {
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    })
    write_json(os.path.join(out, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ])
    write_json(os.path.join(out, "1_Pooling", "config.json"), {
        "word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
    })
    write_json(os.path.join(out, "sentence_bert_config.json"), {"max_seq_length": max_seq, "do_lower_case": False})
    write_safetensors(os.path.join(out, "model.safetensors"), tensors(len(vocab), random.Random(19)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
