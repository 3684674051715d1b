"""Hostile queue entries for scenario 4.

Every generated entry is a ``Hostile`` with a kind, the raw bytes LPUSHed into the queue,
the delivery tag and task id it carries (``None`` when it has none readable) and what the
worker must do with it:

* ``reject``: the entry is not a runnable Celery message; the worker must log
  ``Rejected message <tag> ...`` (with the field at fault) and remove it from ``unacked``.
* ``any``: hostile but arguably runnable (a mutation that left a valid message, big
  integers, an unregistered task name, ...); the worker may reject it or run it (then a
  result document exists), but it must not crash, hang or leave it in ``unacked``.

Deterministic for a given seed.
"""
from __future__ import annotations

import base64
import bz2
import dataclasses
import gzip
import json
import pickle
import random
import zlib

from harness import EMBED, envelope_obj, headers_for, properties_for

QUEUE = "rel-fuzz"


@dataclasses.dataclass
class Hostile:
    kind: str
    raw: bytes
    tag: str | None
    task_id: str | None
    expect: str  # "reject" | "any"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _env(n, kind, *, task="tasks.add", args=(1, 1), kwargs=None, body=None, content_type="application/json"):
    tid = f"fz-{n}-{kind}"
    tag = f"fzt-{n}"
    return tid, tag, envelope_obj(task, list(args), kwargs, tid, QUEUE, tag, body=body, content_type=content_type)


def _as_key(text):
    """The id as the worker decodes it (a surrogate pair written as two escapes is one
    character), or None when it is not valid Unicode at all."""
    try:
        return text.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeError:
        return None


def _dump(obj) -> bytes:
    return json.dumps(obj).encode()


def _deep(depth, leaf=1):
    # Built as text: json.dumps of a 100k-deep list would blow Python's recursion limit.
    return "[" * depth + json.dumps(leaf) + "]" * depth


WRONG_VALUES = [None, True, False, 0, -1, 2 ** 63, -(2 ** 63) - 1, 10 ** 400, 1.5, 1e308, "",
                "x" * 300, "\u0000", "\ud83d\ude00", [], [1, "a"], {}, {"a": {"b": [None]}}]
WRONG_VALUE_TEXT = ["NaN", "Infinity", "-Infinity", "1e999", "-0", "0.0000000000000000000001",
                    "123456789012345678901234567890", '"\\ud800"', '"\\udfff\\ud800"']

HEADER_KEYS = ["lang", "task", "id", "shadow", "eta", "expires", "group", "group_index", "retries",
               "timelimit", "root_id", "parent_id", "argsrepr", "kwargsrepr", "origin",
               "ignore_result", "replaced_task_nesting", "stamped_headers", "stamps"]
PROPERTY_KEYS = ["correlation_id", "reply_to", "delivery_mode", "delivery_info", "priority",
                 "body_encoding", "delivery_tag"]


class Generator:
    def __init__(self, seed=7, large_size=10 * 1024 * 1024, large_count=3):
        self.rng = random.Random(seed)
        self.large_size = large_size
        self.large_count = large_count
        self.kinds = [
            (self.not_json, 6), (self.json_not_object, 3), (self.bad_base64, 4), (self.base64_not_json, 4),
            (self.body_wrong_shape, 6), (self.missing_field, 6), (self.invalid_utf8, 4),
            (self.deep_nesting, 3), (self.wrong_header_type, 14), (self.wrong_property_type, 8),
            (self.number_tokens, 4), (self.protocol_v1, 4), (self.content_type, 5), (self.pickle, 2),
            (self.compressed, 4), (self.byte_mutation, 12), (self.structural_mutation, 10),
            (self.huge_numbers, 3), (self.unregistered, 2), (self.weird_strings, 4),
            (self.envelope_nesting, 2), (self.duplicate_keys, 2),
        ]
        self.weights = [w for _, w in self.kinds]

    # -- the stream ---------------------------------------------------------

    def generate(self, count):
        """``count`` hostile entries; the large ones are spread through the stream."""
        large_at = {int(count * (k + 1) / (self.large_count + 1)) for k in range(self.large_count)}
        large_seq = 0
        for n in range(count):
            if n in large_at:
                yield self.large(n, large_seq)
                large_seq += 1
                continue
            fn = self.rng.choices(self.kinds, weights=self.weights)[0][0]
            yield fn(n)

    # -- kinds ----------------------------------------------------------------

    def not_json(self, n):
        choices = [b"", b"{", b"}", b"not json", b"\x00\x01\x02\xff", b"{'single': 'quotes'}",
                   b'{"body": ', b"[[[[", b"\xef\xbb\xbf{}", b"null null",
                   bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(1, 200)))]
        return Hostile("not_json", self.rng.choice(choices), None, None, "reject")

    def json_not_object(self, n):
        raw = self.rng.choice([b"[1, 2, 3]", b'"just a string"', b"42", b"null", b"true", b"[]", b"1e999"])
        return Hostile("json_not_object", raw, None, None, "reject")

    def bad_base64(self, n):
        body = self.rng.choice(["!!! not base64 ~~~", "W1sx", "====", "W1sxLCAxXSwge30s\x00", "é" * 10, "A"])
        tid, tag, env = _env(n, "bad_base64", body=body)
        return Hostile("bad_base64", _dump(env), tag, tid, "reject")

    def base64_not_json(self, n):
        raw = self.rng.choice([b"definitely { not json", b"\xff\xfe\xfd", b"[[1, 1], {}, {", b"",
                               bytes(self.rng.getrandbits(8) for _ in range(64))])
        tid, tag, env = _env(n, "base64_not_json", body=_b64(raw))
        return Hostile("base64_not_json", _dump(env), tag, tid, "reject")

    def body_wrong_shape(self, n):
        shapes = [{"args": [1, 1]}, [1, 1], "a string", [[1, 1]], [[1, 1], {}, EMBED, "extra"],
                  [{}, [], {}], [[1, 1], [], EMBED], [[1, 1], {}, []], [[1, 1], {}, 5], 42, None, []]
        shape = self.rng.choice(shapes)
        tid, tag, env = _env(n, "body_wrong_shape", body=_b64(json.dumps(shape).encode()))
        # Falsy embed/args/kwargs are read as Python reads them (`x or {}`), so those may run;
        # test_leniency.py and LeniencyTests pin down each case.
        lenient = shape in ([[1, 1], {}, []], [{}, [], {}], [[1, 1], [], EMBED])
        return Hostile("body_wrong_shape", _dump(env), tag, tid, "any" if lenient else "reject")

    def missing_field(self, n):
        tid, tag, env = _env(n, "missing_field")
        what = self.rng.choice(["body", "content-type", "properties", "delivery_tag", "task", "id",
                                "task+id", "headers"])
        if what in ("body", "content-type", "properties", "headers"):
            del env[what]
        elif what == "delivery_tag":
            del env["properties"]["delivery_tag"]
        elif what == "task+id":
            del env["headers"]["task"], env["headers"]["id"]
        else:
            del env["headers"][what]
        visible_tag = tag if what not in ("properties", "delivery_tag") else None
        return Hostile(f"missing_{what}", _dump(env), visible_tag, tid, "reject")

    def invalid_utf8(self, n):
        tid, tag, env = _env(n, "invalid_utf8")
        raw = _dump(env)
        bad = self.rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf"])
        where = self.rng.choice([b'"tasks.add"', b'"application/json"', b'"lang"'])
        return Hostile("invalid_utf8", raw.replace(where, where[:-1] + bad + b'"', 1), tag, tid, "reject")

    def deep_nesting(self, n):
        # Deep bodies are expensive to refuse (~1 us/byte in a debug build), keep the huge ones rare.
        depth = self.rng.choice([257, 300, 1000, 2049, 5000] * 4 + [100_000])
        body = _b64(("[" + _deep(depth) + ", {}, null]").encode())
        tid, tag, env = _env(n, "deep_nesting", body=body)
        return Hostile("deep_nesting", _dump(env), tag, tid, "reject")

    def wrong_header_type(self, n):
        key = self.rng.choice(HEADER_KEYS)
        kind = f"header_{key}"
        tid, tag, env = _env(n, kind)
        if self.rng.random() < 0.3:
            token = self.rng.choice(WRONG_VALUE_TEXT)
            env["headers"][key] = "@@TOKEN@@"
            raw = _dump(env).replace(b'"@@TOKEN@@"', token.encode())
        else:
            env["headers"][key] = self.rng.choice(WRONG_VALUES)
            raw = _dump(env)
        # Which wrong types a Python worker tolerates varies by header: the worker may run it.
        # A task or id that is not a non-empty string cannot run.
        value = env["headers"][key]
        valid_string = isinstance(value, str) and value != "@@TOKEN@@" and value != ""
        expect = "reject" if key in ("task", "id") and not valid_string else "any"
        visible_tid = tid if key != "id" else (_as_key(value) if valid_string else None)
        return Hostile(kind, raw, tag, visible_tid, expect)

    def wrong_property_type(self, n):
        key = self.rng.choice(PROPERTY_KEYS)
        kind = f"property_{key}"
        tid, tag, env = _env(n, kind)
        value = self.rng.choice(WRONG_VALUES)
        env["properties"][key] = value
        if key == "delivery_tag":
            # A string of any content is a valid tag (the message may run); anything else
            # leaves the message without a tag: rejected, and never recorded in `unacked`.
            return Hostile(kind, _dump(env), None, tid, "any" if isinstance(value, str) else "reject")
        expect = "reject" if key == "body_encoding" and value is not None else "any"
        return Hostile(kind, _dump(env), tag, tid, expect)

    def number_tokens(self, n):
        # Non-standard JSON numbers in the body's args: NaN, Infinity, 1e999, huge integers.
        token = self.rng.choice(WRONG_VALUE_TEXT[:7])
        body = _b64(f"[[{token}, 1], {{}}, null]".encode())
        tid, tag, env = _env(n, "number_tokens", body=body)
        return Hostile("number_tokens", _dump(env), tag, tid, "any")

    def protocol_v1(self, n):
        tid = f"fz-{n}-protocol_v1"
        tag = f"fzt-{n}"
        variant = self.rng.randrange(5)
        v1 = {"task": "tasks.add", "id": tid, "args": [n, 1], "kwargs": {}, "retries": 0, "eta": None,
              "expires": None, "utc": True, "callbacks": None, "errbacks": None, "timelimit": [None, None],
              "taskset": None, "chord": None}
        expect = "any"
        if variant == 1:
            v1["args"] = "not a list"
            expect = "reject"
        elif variant == 2:
            v1["kwargs"] = [1]
            expect = "reject"
        elif variant == 3:
            del v1["task"]
            expect = "reject"
        elif variant == 4:
            v1["id"] = 12345
            expect = "reject"
        env = {"body": _b64(json.dumps(v1).encode()), "content-encoding": "utf-8",
               "content-type": "application/json", "headers": {},
               "properties": properties_for(tid, QUEUE, tag)}
        return Hostile(f"protocol_v1_{variant}", _dump(env), tag, tid, expect)

    def content_type(self, n):
        ct = self.rng.choice(["application/x-yaml", "application/x-msgpack", "application/data", "",
                              "text/plain", "application/json; charset=utf-8", "APPLICATION/JSON",
                              "application/x-made-up", None, 5])
        tid, tag, env = _env(n, "content_type", content_type=ct)
        return Hostile("content_type", _dump(env), tag, tid, "reject")

    def pickle(self, n):
        body = _b64(pickle.dumps(((1, 1), {}, EMBED), protocol=self.rng.choice([2, 4])))
        tid, tag, env = _env(n, "pickle", body=body, content_type="application/x-python-serialize")
        return Hostile("pickle", _dump(env), tag, tid, "reject")

    def compressed(self, n):
        payload = json.dumps([[1, 1], {}, EMBED]).encode()
        name, data = self.rng.choice([("application/x-gzip", gzip.compress(payload)),
                                      ("zlib", zlib.compress(payload)), ("application/x-bz2", bz2.compress(payload)),
                                      ("application/x-brotli", b"\x8b\x02\x80not-really-brotli")])
        tid, tag, env = _env(n, "compressed", body=_b64(data))
        env["headers"]["compression"] = name
        # A body compressed with a codec kombu knows runs, as on a Python worker; a corrupt
        # one is rejected with the reason.
        return Hostile("compressed", _dump(env), tag, tid, "reject" if name == "application/x-brotli" else "any")

    def byte_mutation(self, n):
        tid, tag, env = _env(n, "byte_mutation")
        raw = bytearray(_dump(env))
        for _ in range(self.rng.randint(1, 6)):
            if not raw:
                raw = bytearray(b"{")
            op = self.rng.randrange(4)
            pos = self.rng.randrange(len(raw))
            if op == 0:
                raw[pos] = self.rng.getrandbits(8)
            elif op == 1:
                del raw[pos:pos + self.rng.randint(1, 20)]
            elif op == 2:
                raw[pos:pos] = bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(1, 8)))
            else:
                raw = raw[:pos]
        return Hostile("byte_mutation", bytes(raw), None, tid, "any")

    def structural_mutation(self, n):
        tid, tag, env = _env(n, "structural_mutation")
        # Mutate headers/properties/envelope; never the task id, name, eta or countdown (a
        # message due in the future would be held, not answered).
        target = self.rng.choice(["envelope", "headers", "properties", "delivery_info"])
        obj = {"envelope": env, "headers": env["headers"], "properties": env["properties"],
               "delivery_info": env["properties"]["delivery_info"]}[target]
        protected = {"id", "task", "eta", "delivery_tag", "body", "properties", "headers"}
        keys = [k for k in obj if k not in protected] or list(obj)
        op = self.rng.randrange(3)
        if op == 0 and keys:
            del obj[self.rng.choice(keys)]
        elif op == 1 and keys:
            obj[self.rng.choice(keys)] = self.rng.choice(WRONG_VALUES)
        else:
            obj["x-" + str(self.rng.getrandbits(16))] = self.rng.choice(WRONG_VALUES)
        return Hostile(f"structural_{target}", _dump(env), tag, tid, "any")

    def huge_numbers(self, n):
        args = self.rng.choice([[10 ** 400, 1], [2 ** 63, 2 ** 63], [1e308, 1e308], [-(2 ** 64), 1],
                                [10 ** 4000, 10 ** 4000]])
        body = _b64(json.dumps([args, {}, EMBED]).encode())
        tid, tag, env = _env(n, "huge_numbers", body=body)
        return Hostile("huge_numbers", _dump(env), tag, tid, "any")

    def unregistered(self, n):
        name = self.rng.choice(["no.such.task", "", " ", "tasks.add\n", "x" * 100_000, "tasks.ádd"])
        tid, tag, env = _env(n, "unregistered", task=name)
        return Hostile("unregistered", _dump(env), tag, tid, "reject" if name == "" else "any")

    def weird_strings(self, n):
        tid, tag, env = _env(n, "weird_strings")
        env["headers"]["argsrepr"] = self.rng.choice(["\u0000" * 50, "\ud800", "\u202e" * 10, "%s%n%x" * 20])
        raw = _dump(env)
        if self.rng.random() < 0.5:
            raw = raw.replace(b'"origin": "gen0@reliability"', b'"origin": "\\ud800\\udc00\\udbff"')
        return Hostile("weird_strings", raw, tag, tid, "any")

    def envelope_nesting(self, n):
        tid, tag, env = _env(n, "envelope_nesting")
        depth = self.rng.choice([17, 64, 2000])
        env["headers"]["x-deep"] = "@@DEEP@@"
        raw = _dump(env).replace(b'"@@DEEP@@"', _deep(depth).encode())
        return Hostile("envelope_nesting", raw, tag if depth < 1000 else None, tid, "any")

    def duplicate_keys(self, n):
        tid, tag, env = _env(n, "duplicate_keys")
        raw = _dump(env)
        which = self.rng.randrange(3)
        if which == 0:
            raw = raw.replace(b'"delivery_tag": "', b'"delivery_tag": "other-' + str(n).encode() + b'", "delivery_tag": "', 1)
        elif which == 1:
            raw = raw.replace(b'"task": "tasks.add"', b'"task": "tasks.add", "task": "no.such"', 1)
        else:
            raw = raw.replace(b'"body": "', b'"body": "!!!", "body": "', 1)
        return Hostile(f"duplicate_keys_{which}", raw, tag, tid, "any")

    def large(self, n, seq):
        size = self.large_size
        variant = seq % 3
        if variant == 0:  # not base64 at all
            tid, tag, env = _env(n, "large_not_base64", body="!" * size)
            return Hostile("large_not_base64", _dump(env), tag, tid, "reject")
        if variant == 1:  # base64 of bytes that are not JSON
            raw = bytes(self.rng.getrandbits(8) for _ in range(256)) * (size * 3 // 4 // 256)
            tid, tag, env = _env(n, "large_base64_not_json", body=_b64(raw))
            return Hostile("large_base64_not_json", _dump(env), tag, tid, "reject")
        # a valid tasks.echo with a large string: runs when under the size limit
        value = "y" * (size * 3 // 4)
        tid, tag, env = _env(n, "large_echo", task="tasks.echo", args=(value,))
        env["headers"]["argsrepr"] = "('yyy...',)"
        return Hostile("large_echo", _dump(env), tag, tid, "any")


# ---------------------------------------------------------------------------
# scenario 4b: single hostile values, one message at a time (exact reproductions)
# ---------------------------------------------------------------------------

# (label, task, args as JSON text, {header: JSON text}); a Python worker answers every one
# of these with a result or an error, and keeps running.
PROBES = [
    ("timelimit [1e10, null]", "tasks.add", "[1, 2]", {"timelimit": "[1e10, null]"}),
    ("timelimit [null, 1e10]", "tasks.add", "[1, 2]", {"timelimit": "[null, 1e10]"}),
    ("timelimit [1e300, null]", "tasks.add", "[1, 2]", {"timelimit": "[1e300, null]"}),
    ("timelimit [NaN, null]", "tasks.add", "[1, 2]", {"timelimit": "[NaN, null]"}),
    ("timelimit [null, Infinity]", "tasks.add", "[1, 2]", {"timelimit": "[null, Infinity]"}),
    ("timelimit [-1, null]", "tasks.add", "[1, 2]", {"timelimit": "[-1, null]"}),
    ("timelimit [1e-300, null]", "tasks.add", "[1, 2]", {"timelimit": "[1e-300, null]"}),
    ("timelimit [9223372036854775807, null]", "tasks.add", "[1, 2]", {"timelimit": "[9223372036854775807, null]"}),
    ("timelimit [1, 2, 3]", "tasks.add", "[1, 2]", {"timelimit": "[1, 2, 3]"}),
    ("eta 0001-01-01", "tasks.add", "[1, 2]", {"eta": '"0001-01-01T00:00:00"'}),
    ("eta -0001-01-01", "tasks.add", "[1, 2]", {"eta": '"-0001-01-01T00:00:00"'}),
    ("eta offset -99:99", "tasks.add", "[1, 2]", {"eta": '"2000-01-01T00:00:00-99:99"'}),
    ("eta 13th month", "tasks.add", "[1, 2]", {"eta": '"2026-13-45T99:99:99"'}),
    ("eta 13-digit fraction", "tasks.add", "[1, 2]", {"eta": '"1999-12-31T23:59:59.9999999999999+00:00"'}),
    ("expires 0001-01-01", "tasks.add", "[1, 2]", {"expires": '"0001-01-01T00:00:00"'}),
    ("expires 9999-12-31+14:00", "tasks.add", "[1, 2]", {"expires": '"9999-12-31T23:59:59.999999+14:00"'}),
    ("expires +275760", "tasks.add", "[1, 2]", {"expires": '"+275760-09-13T00:00:00Z"'}),
    ("retries 2**63-1", "tasks.add", "[1, 2]", {"retries": "9223372036854775807"}),
    ("retries -1", "tasks.add", "[1, 2]", {"retries": "-1"}),
    ("retry with retries 2**63-1", "semantics.retry_forever", "[100]", {"retries": "9223372036854775807"}),
    ("autoretry with retries 2**62", "semantics.autoretry", "[]", {"retries": "4611686018427387904"}),
    ("priority 2**63-1", "tasks.add", "[1, 2]", {}),
    ("tasks.sleep(1e300)", "tasks.sleep", "[1e300]", {}),
    ("tasks.sleep(NaN)", "tasks.sleep", "[NaN]", {}),
    ("tasks.sleep(1e16)", "tasks.sleep", "[1e16]", {}),
    ("tasks.sleep(-5)", "tasks.sleep", "[-5]", {}),
    ("tasks.sleep('x')", "tasks.sleep", '["x"]', {}),
    ("tasks.add(2**63-1, 1)", "tasks.add", "[9223372036854775807, 1]", {}),
    ("tasks.add(10**400, 1)", "tasks.add", "[" + "9" * 400 + ", 1]", {}),
    ("tasks.add(1e308, 1e308)", "tasks.add", "[1e308, 1e308]", {}),
    ("tasks.add(NaN, Infinity)", "tasks.add", "[NaN, Infinity]", {}),
    ("tasks.add() missing args", "tasks.add", "[]", {}),
    ("tasks.echo lone surrogate", "tasks.echo", '["\\ud800"]', {}),
    ("semantics.block(-1)", "semantics.block", "[-1]", {}),
    ("semantics.block(1e300)", "semantics.block", "[1e300]", {}),
    ("semantics.retry_once(1e300)", "semantics.retry_once", "[1e300]", {}),
    ("semantics.count_up(2**63-1)", "semantics.count_up", "[-9223372036854775808]", {}),
]


def probe_entry(n, label, task, args_text, header_text):
    tid = f"probe-{n}"
    tag = f"probet-{n}"
    body = _b64(f"[{args_text}, {{}}, null]".encode())
    env = {"body": body, "content-encoding": "utf-8", "content-type": "application/json",
           "headers": headers_for(task, tid, [], None), "properties": properties_for(tid, QUEUE, tag)}
    if label.startswith("priority"):
        env["properties"]["priority"] = 2 ** 63 - 1
    raw = _dump(env)
    for key, text in header_text.items():
        old = json.dumps({key: env["headers"][key]})[1:-1].encode()
        raw = raw.replace(old, json.dumps(key).encode() + b": " + text.encode(), 1)
    return Hostile(label, raw, tag, tid, "any")
