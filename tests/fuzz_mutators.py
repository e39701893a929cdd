"""The mutators of ``tests/fuzzing.py``: seeded functions ``(bytes, random.Random) -> bytes``.

Byte level (truncation at every offset class, bit flips, interesting bytes, inserted / deleted /
repeated ranges), text level (number swaps — NaN, inf, huge, negative, 5,000 digits —, wrong
encodings and byte-order marks, line and separator edits), JSON level (type swaps, deleted and
unknown keys, nesting 100,000 deep), safetensors headers (huge / negative shapes, bad dtypes,
offsets, length fields, the rnnlab metadata) and ``.npz`` members (``.npy`` headers that claim
more than they hold).
"""
from __future__ import annotations

import json
import random
import re
import struct
from typing import Any


# ------------------------------------------------------------------------------------ mutators
INTERESTING_BYTES = b"\x00\xff\x7f\x80\"\n\r\t,:{}[]@?#\\ 0-9eE."
NUMBER_SWAPS = ["NaN", "nan", "-nan", "inf", "-inf", "Infinity", "1e309", "-1e309", "-1", "0", "-0", "1e12",
                "99999999999999999999999", "-99999999999", "1.5", "0x10", "1_000", "", "?", "NA", "\uff11",
                "4294967296", "9" * 5000, "1e-400", "true", "null"]
JSON_SWAPS: list[Any] = [None, True, False, 0, 1, 2, -1, 1.5, 10 ** 12, -(10 ** 12), 2 ** 64, 1e308, float("nan"),
                         float("inf"), "", "x", "NaN", [], {}, [1, 2], {"a": 1}, [10 ** 12], [-1], [0],
                         "/dev/zero", "../model.json", "extras", "weights.safetensors"]
NUM_RE = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
BOUNDARY = b"\n\t,:{}[]\" "


def _pos_classes(data: bytes, rng: random.Random) -> int:
    """An offset from one of the classes: start, end, middle, structural boundaries, random."""
    n = len(data)
    kind = rng.randrange(6)
    if n == 0:
        return 0
    if kind == 0:
        return rng.randrange(min(n, 16) + 1)                         # the first bytes (headers, sizes)
    if kind == 1:
        return max(0, n - rng.randrange(min(n, 16) + 1))             # the last bytes
    if kind == 2:
        return n // 2
    if kind == 3:                                                    # just before / after a boundary
        cands = [i for i in range(n) if data[i] in BOUNDARY] if n < 5000 else \
            [i for i in (rng.randrange(n) for _ in range(200)) if data[i] in BOUNDARY]
        if cands:
            return min(n, rng.choice(cands) + rng.choice((0, 1)))
    if kind == 4 and data[:8] and n > 8:                             # safetensors: around the header end
        h = int.from_bytes(data[:8], "little")
        if h < n:
            return min(n, 8 + h + rng.randrange(-2, 3))
    return rng.randrange(n + 1)


def m_truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:_pos_classes(data, rng)]


def m_bitflip(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4))):
        i = _pos_classes(data, rng) % len(b)
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def m_byte(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return bytes([rng.choice(INTERESTING_BYTES)])
    b = bytearray(data)
    b[_pos_classes(data, rng) % len(b)] = rng.choice(INTERESTING_BYTES)
    return bytes(b)


def m_insert(data: bytes, rng: random.Random) -> bytes:
    i = _pos_classes(data, rng)
    piece = rng.choice([bytes([rng.choice(INTERESTING_BYTES)]), b"\x00", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80",
                        b"\r\n", b"\n\n", b"NaN", b"-1", b"\t", b":", b",", b"@data\n", b"\"", b"\\u0000",
                        bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))])
    return data[:i] + piece + data[i:]


def m_delete(data: bytes, rng: random.Random) -> bytes:
    i = _pos_classes(data, rng)
    return data[:i] + data[i + rng.choice((1, 2, 8, 64, 1 << 20)):]


def m_repeat(data: bytes, rng: random.Random) -> bytes:
    i = _pos_classes(data, rng)
    j = min(len(data), i + rng.choice((1, 8, 64, 512)))
    return data[:j] + data[i:j] * rng.choice((1, 2, 50)) + data[j:]


def m_number(data: bytes, rng: random.Random) -> bytes:
    spans = [m.span() for m in NUM_RE.finditer(data[:200_000])]
    if not spans:
        return m_insert(data, rng)
    a, b = rng.choice(spans)
    return data[:a] + rng.choice(NUMBER_SWAPS).encode("utf-8") + data[b:]


def m_encoding(data: bytes, rng: random.Random) -> bytes:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return m_bitflip(data, rng)
    kind = rng.randrange(6)
    if kind == 0:
        return text.encode("utf-16")
    if kind == 1:
        return text.encode("utf-16-le")
    if kind == 2:
        return (text + "é").encode("latin-1", errors="replace")
    if kind == 3:
        return b"\xef\xbb\xbf" + data
    if kind == 4:
        return text.encode("utf-32")
    return text.encode("cp1252", errors="replace").replace(b"?", b"\x9d")


def m_lines(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    kind = rng.randrange(7)
    i = rng.randrange(len(lines))
    if kind == 0:
        del lines[i]
    elif kind == 1:
        lines.insert(i, lines[rng.randrange(len(lines))])
    elif kind == 2:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == 3:
        return data.replace(b"\n", rng.choice((b"\r\n", b"\r", b"\x0b", b"\x85", b"\n\n")))
    elif kind == 4:
        seps = [s for s in (b"\t", b",", b":", b" ") if s in lines[i]]
        if seps:
            s = rng.choice(seps)
            lines[i] = lines[i].replace(s, rng.choice((b"\t", b",", b":", b" ", b"", s + s)))
    elif kind == 5:
        lines.insert(i, b"x" * rng.choice((1000, 100_000)))
    else:
        fields = re.split(rb"([\t,:])", lines[i])
        vals = fields[::2]
        rng.shuffle(vals)
        fields[::2] = vals
        lines[i] = b"".join(fields)
    return b"\n".join(lines)


def _json_nodes(doc: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _json_nodes(v, path + (k,))
    elif isinstance(doc, list):
        for k, v in enumerate(doc[:50]):
            out += _json_nodes(v, path + (k,))
    return out


def _json_mutate_doc(doc: Any, rng: random.Random) -> Any:
    nodes = _json_nodes(doc)
    path = rng.choice(nodes)
    kind = rng.randrange(6)
    if kind == 5:                                                   # deep nesting
        new: Any = f"__DEEP_{rng.choice((100, 5000, 100_000))}__"     # expanded by _dumps
    elif kind == 4 and path:                                       # delete the key / element
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        del parent[path[-1]]
        return doc
    elif kind == 3:                                                # add an unknown key / duplicate an element
        node = doc
        for k in path:
            node = node[k]
        if isinstance(node, dict):
            node[rng.choice(("zzz", "class", "config", "shape", "tokens", "format"))] = rng.choice(JSON_SWAPS)
        elif isinstance(node, list) and node:
            node.insert(rng.randrange(len(node) + 1), rng.choice(node))
        return doc
    else:
        new = rng.choice(JSON_SWAPS)
        if isinstance(new, (list, dict)):
            new = json.loads(json.dumps(new))
    if not path:
        return new
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    parent[path[-1]] = new
    return doc


DEEP_RE = re.compile(r'"__DEEP_(\d+)__"')


def _dumps(doc: Any, **kw: Any) -> str:
    """json.dumps, with the deep-nesting placeholders expanded into ``[[[...]]]``."""
    return DEEP_RE.sub(lambda m: "[" * int(m.group(1)) + "]" * int(m.group(1)), json.dumps(doc, **kw))


def m_json(data: bytes, rng: random.Random) -> bytes:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):                             # (ValueError: also 5,000-digit ints)
        return m_number(data, rng)
    doc = _json_mutate_doc(doc, rng)
    return _dumps(doc, ensure_ascii=rng.random() < .5).encode("utf-8")


def st_split(data: bytes) -> tuple[dict, bytes] | None:
    if len(data) < 8:
        return None
    n = int.from_bytes(data[:8], "little")
    try:
        return json.loads(data[8:8 + n].decode("utf-8")), data[8 + n:]
    except (ValueError, RecursionError):
        return None


def m_safetensors(data: bytes, rng: random.Random) -> bytes:
    """Edit the safetensors header: shapes, dtypes, offsets, the rnnlab metadata, the length field."""
    parts = st_split(data)
    if parts is None or not isinstance(parts[0], dict):
        return m_bitflip(data, rng)
    header, body = parts
    names = [k for k in header if k != "__metadata__"]
    kind = rng.randrange(6)
    if kind <= 2 and names:
        t = header[rng.choice(names)]
        if not isinstance(t, dict):
            t = {}
        key = ("shape", "dtype", "data_offsets")[kind]
        t[key] = rng.choice({
            "shape": [[10 ** 12], [-1], [2 ** 63], [2 ** 64 + 1], [], [0], [10 ** 6, 10 ** 6], [3, -3], ["2"], [1.5],
                      None, [2 ** 32, 2 ** 32]],
            "dtype": ["F64", "F32", "F16", "BF16", "I64", "BOOL", "U8", "X", "", 7, None, "F8_E4M3"],
            "data_offsets": [[0, 10 ** 18], [-1, 5], [5, 1], [0, 0], [0, 2 ** 64 - 1], [1, 9], None, [0], "x",
                             [2 ** 63, 2 ** 63 + 8]],
        }[key])
    elif kind == 3 and "__metadata__" in header and isinstance(header["__metadata__"], dict):
        meta = header["__metadata__"]
        for k, v in list(meta.items()):
            if isinstance(v, str):
                meta[k] = m_json(v.encode(), rng).decode("utf-8", "replace")
    elif kind == 4:
        header = _json_mutate_doc(header, rng)
    raw = _dumps(header).encode("utf-8") if kind != 5 else data[8:8 + int.from_bytes(data[:8], "little")]
    size = len(raw)
    if kind == 5 or rng.random() < .15:
        size = rng.choice((0, 1, size - 1, size + 1, 2 ** 64 - 1, 2 ** 63, 10 ** 12, len(data)))
    return struct.pack("<Q", size % 2 ** 64) + raw + body


def m_npz(data: bytes, rng: random.Random) -> bytes:
    """Rewrite one member of an ``.npz`` (zip) archive: its ``.npy`` header (shape, dtype) or its bytes."""
    import io
    import zipfile
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
    except Exception:  # noqa: BLE001 - not a zip (any more): a byte-level change instead
        return m_bitflip(data, rng)
    name = rng.choice(sorted(members))
    blob = members[name]
    end = blob.find(b"\n") + 1
    if end > 0 and rng.random() < .6:
        header = blob[:end]
        header = re.sub(rb"'shape': \([^)]*\)", rng.choice([b"'shape': (100000000000,)", b"'shape': (-1, 3)",
                                                              b"'shape': (4000000, 3)", b"'shape': ()",
                                                              b"'shape': (3, 100000000000000)"]), header) \
            if rng.random() < .6 else header.replace(b"'<f8'", rng.choice([b"'|O'", b"'<i8'", b"'<U9'", b"'V7'"]))
        blob = header + blob[end:]
    else:
        blob = rng.choice(TEXT_MUTATORS)(blob, rng)
    members[name] = blob
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))) as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    return out.getvalue()


TEXT_MUTATORS = [m_truncate, m_bitflip, m_byte, m_insert, m_delete, m_repeat, m_number, m_number, m_encoding,
                 m_lines, m_lines]
JSON_MUTATORS = [m_truncate, m_bitflip, m_byte, m_insert, m_delete, m_repeat, m_number, m_encoding,
                 m_json, m_json, m_json, m_json]
NPZ_MUTATORS = [m_truncate, m_bitflip, m_insert, m_delete, m_npz, m_npz, m_npz, m_npz, m_npz]
BINARY_MUTATORS = [m_truncate, m_truncate, m_bitflip, m_byte, m_insert, m_delete, m_repeat,
                   m_safetensors, m_safetensors, m_safetensors, m_safetensors]
