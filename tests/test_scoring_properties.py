"""Property-based tests of every adapter's answer parsing on arbitrary JSON (and non-JSON): any
answer ends as one well-formed outcome per image (an answer with finite scores, a failure or a
retry with a reason), never an exception; a cached answer re-parses without one too (issue 16)."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_scoring_adapters import CASES, FIXTURES, _adapter, _images

from evalkit.scoring.adapters import ADAPTERS, ApiAnswer, ImageFailure, RetrySignal
from evalkit.scoring.cache import CacheScope, ResponseCache

# Field names the adapters read, so arbitrary objects often look almost like an answer.
FIELDS = ["predictions", "outputs", "name", "shape", "datatype", "data", "responses", "labelAnnotations",
          "description", "score", "error", "code", "message", "Labels", "Name", "Confidence", "Parents",
          "tagName", "probability", "iteration", "tagsResult", "values", "confidence", "modelVersion",
          "label", "result", "labels", "model_version", "estimated_time", "__type", "LabelModelVersion",
          "scores", "FP32", "BYTES", "UINT8", "0", "1"]
ODD_TEXT = ["nan", "NaN", "-Infinity", "1e999", "\ud800", "\udfff x", "<script>alert(1)</script>",
            "\x1b]8;;http://x\x07", "\x00", "ThrottlingException", "FP32", "BYTES", "x" * 5000]

scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=-10 ** 300, max_value=10 ** 300),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 1),
    st.text(max_size=20), st.sampled_from(ODD_TEXT + FIELDS))
json_values = st.recursive(
    scalars,
    lambda kids: st.one_of(st.lists(kids, max_size=6),
                           st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), kids,
                                           max_size=6)),
    max_leaves=40)


def _dump(value) -> bytes:
    return json.dumps(value).encode()


def _replace(doc, path, value):
    if not path:
        return value
    head, *rest = path
    copy = dict(doc) if isinstance(doc, dict) else list(doc)
    copy[head] = _replace(doc[head], rest, value)
    return copy


def _paths(doc, prefix=()):
    yield prefix
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        yield from _paths(v, prefix + (k,))


@st.composite
def mutated_fixture(draw, fixture: str):
    """A recorded real answer with one subtree replaced by arbitrary JSON."""
    doc = json.loads((FIXTURES / fixture).read_text())
    paths = list(_paths(doc))
    path = paths[draw(st.integers(0, len(paths) - 1))]
    return _dump(_replace(doc, path, draw(json_values)))


@st.composite
def bodies(draw, fixture: str):
    kind = draw(st.sampled_from(["json", "mutated", "deep", "text", "bytes"]))
    if kind == "json":
        return _dump(draw(json_values))
    if kind == "mutated":
        return draw(mutated_fixture(fixture))
    if kind == "deep":
        depth = draw(st.integers(1, 3000))
        inner = draw(st.sampled_from([b"1", b"[]", b'{"predictions": []}']))
        opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"outputs":', b"}"), (b'{"a":[', b"]}")]))
        return opener * depth + inner + closer * depth
    if kind == "text":
        return draw(st.sampled_from(["NaN", "Infinity", "1" * 5000, "{", "\"\\ud800\"", "[1e999]",
                                     "null", "<html>502</html>"])).encode()
    return draw(st.binary(max_size=64))


# Extra configurations, so that each parsing branch is reached.
VARIANTS = [(name, CASES[name][0]) for name in ADAPTERS.names()] + [
    ("kserve-v2", dict(endpoint="http://h", model="m", params={"output_name": "probs", "top_k": 3})),
    ("kserve-v2", dict(endpoint="http://h", model="m", params={"datatype": "BYTES"})),
    ("tfserving", dict(endpoint="http://h", model="m", params={"output_key": "scores"})),
    ("http-json", dict(endpoint="http://h", params={"labels_path": "/labels"})),
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    with ResponseCache(tmp_path_factory.mktemp("cache") / "cache.sqlite") as c:
        yield c


@pytest.mark.parametrize("name, config", VARIANTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VARIANTS)])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_answer_gives_one_well_formed_outcome_per_image(name, config, data, cache):
    _, n, fixture = CASES[name]
    adapter = _adapter(name, **config)
    batch = _images(n)
    status = data.draw(st.sampled_from([200, 200, 200, 201, 400, 401, 404, 408, 429, 500, 503]))
    headers = data.draw(st.dictionaries(st.sampled_from(["Retry-After", "Content-Type", "x"]),
                                        st.one_of(st.text(max_size=12), st.sampled_from(["inf", "nan", "-1", "1e999"])),
                                        max_size=2))
    out = adapter.parse_response(status, headers, data.draw(bodies(fixture)), batch)
    assert isinstance(out, list) and len(out) == n
    for o in out:
        if isinstance(o, ApiAnswer):
            assert status < 400
            assert all(isinstance(a, str) and isinstance(s, float) and math.isfinite(s) for a, s in o.labels)
            # the answer is stored as it is (odd version types too) and re-parses from the cache
            scope = CacheScope(name, "http://h", "m", "", "p")
            cache.put(scope, "k", status="answer", raw=o.raw, api_version=o.api_version, cost=0.0)
            row = cache.get_many(scope, ["k"])["k"]
            assert row.api_version is None or isinstance(row.api_version, str)
            assert len(adapter.labels_from_raw(row.raw)) == len(o.labels)
        elif isinstance(o, RetrySignal):
            assert isinstance(o.reason, str) and o.reason
            assert o.retry_after_s is None or 0 <= o.retry_after_s <= 86400
        else:
            assert isinstance(o, ImageFailure) and isinstance(o.reason, str) and o.reason
