"""Any answer a server sends ends as a scored image or a per-image failure with a reason, never
an exception out of parsing or out of ``score`` (issue 16, item 3)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from scoring_servers import make_dataset, scripted_server, write_evalset
from test_scoring_adapters import CASES, _adapter, _images

from evalkit.scoring.adapters import ApiAnswer, ImageFailure, RetrySignal


def _kserve(params=None):
    return _adapter("kserve-v2", "http://h:8080", model="m", params=params or {})


def _kserve_body(name: str, n: int) -> bytes:
    data = np.full((n, 10), 0.1).ravel().tolist()
    return json.dumps({"outputs": [{"name": name, "shape": [n, 10], "datatype": "FP32", "data": data}]}).encode()


def test_kserve_missing_output_name_is_a_retry_with_a_reason():
    out = _kserve({"output_name": "probs"}).parse_response(200, {}, _kserve_body("logits", 2), _images(2))
    assert [type(o) for o in out] == [RetrySignal] * 2
    assert "no output named 'probs'" in out[0].reason
    ok = _kserve({"output_name": "probs"}).parse_response(200, {}, _kserve_body("probs", 2), _images(2))
    assert [type(o) for o in ok] == [ApiAnswer] * 2


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000,          # RecursionError in json
                                  b'{"a":' * 200 + b"1" + b"}" * 200,       # parses, but too deep
                                  b"1" * 5000])                             # int beyond the digit limit
def test_deep_and_huge_bodies_are_retries_not_exceptions(name, body):
    cfg, n, _ = CASES[name]
    batch = _images(n)
    for status in (200, 400, 503):
        out = _adapter(name, **cfg).parse_response(status, {}, body, batch)
        assert len(out) == n and all(isinstance(o, (RetrySignal, ImageFailure)) and o.reason for o in out)


@pytest.mark.parametrize("name", sorted(CASES))
def test_non_finite_numbers_never_become_scores(name):
    cfg, n, _ = CASES[name]
    body = (b'{"predictions": [[1e999, NaN]], "outputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32",'
            b' "data": [NaN, Infinity]}], "Labels": [{"Name": "cat", "Confidence": 1e400}], "responses":'
            b' [{"labelAnnotations": [{"description": "cat", "score": -Infinity}]}], "predictions2": 1}')
    out = _adapter(name, **cfg).parse_response(200, {}, body, _images(n))
    assert len(out) == n
    for o in out:
        assert isinstance(o, (ApiAnswer, RetrySignal))
        if isinstance(o, ApiAnswer):
            assert all(np.isfinite(s) for _, s in o.labels)


@pytest.mark.parametrize("value, expected", [("inf", 86400.0), ("nan", None), ("-5", 0.0), ("1e999", 86400.0)])
def test_retry_after_is_made_finite(value, expected):
    out = _kserve().parse_response(429, {"Retry-After": value}, b"", _images(1))
    assert out == [RetrySignal("HTTP 429", expected)]


def test_non_finite_scores_and_odd_estimated_time_are_retries():
    hf = _adapter("huggingface", "https://x", model="m")
    (o,) = hf.parse_response(200, {}, b'[{"label": "cat", "score": NaN}]', _images(1))
    assert isinstance(o, RetrySignal) and "finite" in o.reason
    (o,) = hf.parse_response(503, {}, b'{"estimated_time": {"s": 1}}', _images(1))
    assert isinstance(o, RetrySignal) and o.retry_after_s is None and "TypeError" in o.reason
    (o,) = hf.parse_response(503, {}, b'{"estimated_time": NaN}', _images(1))
    assert o == RetrySignal("model loading:", None)


def test_one_bad_image_in_a_batch_does_not_spoil_the_others():
    tf = _adapter("tfserving", "http://h:8501", model="m")
    body = json.dumps({"predictions": [[0.2, 0.8], ["nan", 0.1]]}).encode()
    a, b = tf.parse_response(200, {}, body, _images(2))
    assert isinstance(a, ApiAnswer) and a.labels[0] == ("1", 0.8)
    assert isinstance(b, RetrySignal) and "finite" in b.reason


@pytest.mark.parametrize("answer", ["other output", "deep"])
def test_score_ends_every_image_failed_with_a_reason(tmp_path, answer):
    from evalkit.scoring import load_api_config, score_api
    from evalkit.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    write_evalset(ws, "a", range(4))

    def respond(path, headers, body):
        if answer == "deep":
            return 200, b'{"outputs":' + b"[" * 5000 + b"]" * 5000 + b"}"
        return 200, _kserve_body("other", json.loads(body)["inputs"][0]["shape"][0])

    with scripted_server(respond) as srv:
        (tmp_path / "k.toml").write_text(
            f'name = "k"\nadapter = "kserve-v2"\nendpoint = "{srv.url}"\nmodel = "m"\n[params]\n'
            'output_name = "probs"\n[engine]\nbatch_size = 2\nconcurrency = 1\nmax_retries = 1\n'
            'backoff_base_s = 0.001\nbackoff_max_s = 0.002\n')
        art = score_api(ws, load_api_config(tmp_path / "k.toml"), make_dataset(4), ["a"])
    doc = json.loads(ws.abspath(art).read_text())
    assert [r["status"] for r in doc["images"]] == ["failed"] * 4
    assert all(r["reason"].startswith("gave up after 2 attempts; last: ") for r in doc["images"])
    want = "no output named" if answer == "other output" else "malformed JSON"
    assert all(want in r["reason"] for r in doc["images"]), doc["images"][0]["reason"]


def _scores_api_file(path, url, **kw) -> None:
    """A tfserving API file for ``scoring_servers.tfserving_answer`` (scores under "scores")."""
    from scoring_servers import write_api_file

    write_api_file(path, url, **kw)
    path.write_text(path.read_text().replace('top_k = 3', 'top_k = 3\noutput_key = "scores"'))


def test_one_stall_that_times_out_every_request_in_flight_does_not_stop_the_run(tmp_path):
    """8 requests in flight all time out together (one stall of the server): one failure wave,
    not 8 transport errors in a row; the retries are answered and every image is scored."""
    import threading
    import time

    from scoring_servers import tfserving_answer

    from evalkit.scoring import load_api_config, score_api
    from evalkit.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    write_evalset(ws, "a", range(16))
    seen, lock = [0], threading.Lock()

    def respond(path, headers, body):
        with lock:
            seen[0] += 1
            first_wave = seen[0] <= 8
        if first_wave:
            time.sleep(0.6)
        return 200, tfserving_answer(body)

    with scripted_server(respond) as srv:
        _scores_api_file(tmp_path / "api.toml", srv.url, concurrency=8, timeout_s=0.3, max_retries=4,
                         extra='batch_size = 1\n')
        doc = json.loads(ws.abspath(score_api(ws, load_api_config(tmp_path / "api.toml"), make_dataset(16),
                                              ["a"])).read_text())
    assert [r["status"] for r in doc["images"]] == ["scored"] * 16
    assert doc["http_requests"] == 24


@pytest.mark.parametrize("name,body", [("azure-customvision", {"id": "x", "iteration": "it1"}),
                                       ("azure-vision", {"modelVersion": "1"}), ("azure-vision", {"tagsResult": {}}),
                                       ("rekognition", {"LabelModelVersion": "3.0"})])
def test_answer_without_its_labels_field_is_a_retry_not_an_empty_answer(name, body):
    """A 200 answer that lacks the labels field is malformed (retried), not an abstention that the
    cache would keep for ever; an empty label list is a real answer."""
    cfg, n, _ = CASES[name]
    adapter, batch = _adapter(name, **cfg), _images(n)
    out = adapter.parse_response(200, {}, json.dumps(body).encode(), batch)
    assert [type(o) for o in out] == [RetrySignal] * n and "field" in out[0].reason
    empty = {"azure-customvision": {"predictions": []}, "azure-vision": {"tagsResult": {"values": []}},
             "rekognition": {"Labels": []}}[name]
    out = adapter.parse_response(200, {}, json.dumps(empty).encode(), batch)
    assert [type(o) for o in out] == [ApiAnswer] * n and out[0].labels == ()


@pytest.mark.parametrize("vector, expected", [([0.0] * 10, ()),                   # broken model: all zeros
                                              ([0.1] * 10, ()),                   # uniform
                                              ([0.4, 0.4] + [0.025] * 8, ()),     # top score tied
                                              ([0.05] * 3 + [0.55] + [0.05] * 6, "3")])
def test_score_vectors_that_name_no_class_are_abstentions(vector, expected):
    """tfserving and kserve-v2 rank score vectors: one that names no class must not become class 0."""
    tf = _adapter("tfserving", "http://h:8501", model="m")
    body = json.dumps({"predictions": [vector]}).encode()
    kv = _kserve().parse_response(200, {}, json.dumps(
        {"outputs": [{"name": "p", "shape": [1, 10], "datatype": "FP32", "data": vector}]}).encode(), _images(1))
    for out in (tf.parse_response(200, {}, body, _images(1)), kv):
        assert isinstance(out[0], ApiAnswer)
        if expected == ():
            assert out[0].labels == ()
        else:
            assert out[0].labels[0][0] == expected


def test_a_huge_response_is_dropped_unread_and_retried(tmp_path):
    """A server that answers with more than [engine] max_response_mb is not read into memory: each
    such attempt is a retry with a reason; images it never answers normally fail with that reason,
    the others are scored."""
    from scoring_servers import tfserving_answer

    from evalkit.scoring import load_api_config, score_api
    from evalkit.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    write_evalset(ws, "a", range(4))

    def respond(path, headers, body):
        if len(json.loads(body)["instances"]) == 1:   # the lone last image: always 3 MiB of JSON string
            return 200, b'{"predictions": "' + b"x" * (3 * 2 ** 20) + b'"}'
        return 200, tfserving_answer(body)

    with scripted_server(respond) as srv:
        _scores_api_file(tmp_path / "api.toml", srv.url, concurrency=1, timeout_s=10, max_retries=1,
                         extra="batch_size = 3\nmax_response_mb = 1\n")
        cfg = load_api_config(tmp_path / "api.toml")
        assert cfg.engine.max_response_mb == 1.0
        doc = json.loads(ws.abspath(score_api(ws, cfg, make_dataset(4), ["a"])).read_text())
    status = sorted(r["status"] for r in doc["images"])
    assert status == ["failed", "scored", "scored", "scored"]
    failed = next(r for r in doc["images"] if r["status"] == "failed")
    assert "response larger than 1 MiB, dropped unread" in failed["reason"]


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan"])
def test_max_response_mb_must_be_positive_and_finite(tmp_path, value):
    from scoring_servers import write_api_file

    from evalkit.errors import ConfigError
    from evalkit.scoring import load_api_config

    write_api_file(tmp_path / "api.toml", "http://127.0.0.1:9", extra=f"max_response_mb = {value}\n")
    with pytest.raises(ConfigError, match="max_response_mb"):
        load_api_config(tmp_path / "api.toml")
