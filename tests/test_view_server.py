"""The view's server through HTTP and WebSocket clients: the page and its files, sessions
per connection that keep running through bad input, and a CLI that stops cleanly."""

from __future__ import annotations

import copy
import json
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from starlette.testclient import TestClient

from conftest import tiny_dict
from gankit.view.frames import decode_message
from gankit.view.messages import nesting_depth, parse_message
from gankit.view.server import STATIC, create_app
from view_helpers import WAIT_S, server_thread

BASE = tiny_dict(data={"batch_size": 64})


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(copy.deepcopy(BASE), tmp_path / "runs", max_sessions=2)) as c:
        yield c


def receive_until(socket, wanted, limit=2000, seen=None):
    """Messages until one passes ``wanted``: JSON events as dicts, frames as (header, arrays);
    each one received is appended to ``seen``, that one included."""
    for _ in range(limit):
        message = socket.receive()
        if message.get("text") is not None:
            event = json.loads(message["text"])
        else:
            event = decode_message(message["bytes"])
        if seen is not None:
            seen.append(event)
        if wanted(event):
            return event
    raise AssertionError("the wanted message never came")


def is_event(kind, **fields):
    return lambda e: isinstance(e, dict) and e["type"] == kind and \
        all(e.get(k) == v for k, v in fields.items())


def is_frame(predicate=lambda h: True):
    return lambda e: isinstance(e, tuple) and predicate(e[0])


def test_the_page_and_its_files_are_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for name in ("view.js", "view.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert client.get("/static/../session.py").status_code == 404
    assert client.get("/static/%2e%2e/session.py").status_code == 404


def test_the_page_loads_nothing_from_elsewhere():
    """Offline: every src and href is the server's own or inline, and the script opens no
    connection but its own WebSocket."""
    html = (STATIC / "index.html").read_text()
    for link in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert link.startswith(("/static/", "data:")), link
    script = (STATIC / "view.js").read_text() + (STATIC / "view.css").read_text()
    assert not re.search(r"https?://", script)
    assert re.findall(r"new WebSocket\(([^)]*)\)", script) == ["`ws://${location.host}/ws`"]
    assert "fetch(" not in script and "import " not in script


def test_a_page_trains_and_gets_frames_and_metrics(client):
    with client.websocket_connect("/ws") as socket:
        hello = receive_until(socket, is_event("hello"))
        assert "ring8" in hello["datasets"] and "drawn" in hello["datasets"]
        ready = receive_until(socket, is_event("ready"))
        assert len(ready["real"]) == 512 and ready["settings"]["dataset"] == "ring8"
        socket.send_text(json.dumps({"type": "speed", "steps_per_frame": 5, "delay_ms": 0}))
        socket.send_text(json.dumps({"type": "play"}))
        metrics = receive_until(socket, lambda e: is_event("metrics")(e) and e["step"] > 0)
        assert {"w1", "modes", "high_quality", "reverse_kl", "acceptance"} <= set(metrics)
        header, arrays = receive_until(socket, is_frame(lambda h: h["step"] > metrics["step"]))
        assert header["step"] % 5 == 0 and arrays["fake"].shape == (512, 2)
        socket.send_text(json.dumps({"type": "pause"}))
        receive_until(socket, is_event("status", playing=False))


DEEP = 100_000  # far past Python's recursion limit: json.loads alone would raise


@pytest.mark.parametrize(("message", "answer"), [
    ("null", "a message must be an object with a type, got None"),
    ("0", "a message must be an object with a type, got 0"),
    ('"x"', "a message must be an object with a type, got 'x'"),
    ("[]", "a message must be an object with a type, got []"),
    ("[1, 2]", "a message must be an object with a type"),
    ('{"bogus": 1, "more": {"keys": [1]}}', "a message must be an object with a type"),
    ('{"type": "\\ud800"}', "unknown message type"),  # a lone surrogate
    ("[" * DEEP + "]" * DEEP, "nests collections deeper than 32 levels"),
    ("[" * DEEP, "nests collections deeper than 32 levels"),
    ('{"a":' * DEEP + "0" + "}" * DEEP, "nests collections deeper than 32 levels"),
    ('"' + "x" * 10**7 + '"', "at most 1048576"),
    ("x" * (2**20 + 1), "at most 1048576"),
    ("{not json", "malformed JSON"),
    ("1" * 5000, "malformed JSON"),  # past Python's digits limit for int()
    (b"\xff\xfe{", "send JSON text"),  # not UTF-8, and a binary frame
    (b"\x00" * 10, "send JSON text"),
    (json.dumps({"type": "settings", "settings": {**{"dataset": "ring8"}}}),
     "setting loss is missing"),
    (json.dumps({"type": "step", "phase": "g" * 10000}), "phase must be d, g or full"),
], ids=lambda value: repr(value)[:30])
def test_bad_input_is_answered_once_and_the_page_goes_on(client, caplog, capfd, message,
                                                          answer):
    """Whatever a page sends gets one error line and nothing else; the session trains on."""
    with client.websocket_connect("/ws") as socket:
        receive_until(socket, is_event("ready"))
        if isinstance(message, bytes):
            socket.send_bytes(message)
        else:
            socket.send_text(message)
        socket.send_text(json.dumps({"type": "step", "phase": "full"}))
        events = []
        receive_until(socket, is_frame(lambda h: h["step"] == 1), seen=events)
    errors = [e for e in events if is_event("error")(e)]
    assert len(errors) == 1, errors
    assert answer in errors[0]["message"] and len(errors[0]["message"]) < 400
    assert not [r for r in caplog.records if r.exc_info or r.levelname == "ERROR"]
    assert "Traceback" not in capfd.readouterr().err


def test_the_served_view_answers_hostile_messages_and_logs_no_traceback(tmp_path, capfd):
    """Through uvicorn as ``gankit view`` serves: what the app refuses is answered and the
    connection stays; a text message that is not UTF-8 must end it (close code 1007, RFC 6455
    section 8.1), with one log line and no traceback."""
    from websockets.exceptions import ConnectionClosedError
    from websockets.sync.client import connect

    def next_event(socket, kind):
        while True:
            message = socket.recv(timeout=WAIT_S)
            if isinstance(message, str) and json.loads(message)["type"] == kind:
                return json.loads(message)

    with server_thread(copy.deepcopy(BASE), tmp_path / "runs") as address:
        url = address.replace("http://", "ws://") + "/ws"
        with connect(url, max_size=2**24) as socket:
            next_event(socket, "ready")
            for text in ("null", "[" * DEEP, '"' + "x" * 10**7 + '"'):
                socket.send(text)
                assert "message" in next_event(socket, "error")
            socket.send(json.dumps({"type": "runs"}))
            next_event(socket, "runs")
        with connect(url, max_size=2**24) as socket:
            next_event(socket, "ready")
            socket.send(b"\xff\xfe", text=True)
            with pytest.raises(ConnectionClosedError) as closed:
                next_event(socket, "error")
            assert closed.value.rcvd.code == 1007
    # uvicorn logs to stderr through its own handler (its loggers do not reach caplog's)
    assert "Invalid UTF-8" in (err := capfd.readouterr().err)
    assert "Traceback" not in err


@pytest.mark.parametrize(("text", "depth"), [
    ("{}", 1), ("[[], [[]]]", 3), ('{"a": [{"b": 1}]}', 3), ("0", 0),
    ('["[[[", "]", "{"]', 1),  # brackets in strings nest nothing
    ('["\\"[[[", "\\\\", [[]]]', 3),  # nor do those after an escaped quote
    ('["[[[' + "x" * 1000, 1),  # an unterminated string ends the text
])
def test_nesting_is_counted_outside_strings(text, depth):
    assert nesting_depth(text) == depth


def test_a_deep_message_is_refused_without_recursion_and_a_deep_string_is_not():
    deep = "[" * 10**6
    assert parse_message(deep, None)["type"] == "invalid"
    text = json.dumps({"type": "pause", "note": deep})
    assert parse_message(text, None)["note"] == deep


def test_oversized_drawings_are_refused(client):
    with client.websocket_connect("/ws") as socket:
        ready = receive_until(socket, is_event("ready"))
        settings = {**ready["settings"], "dataset": "drawn"}
        socket.send_text(json.dumps({"type": "settings", "settings": settings,
                                     "points": [[0.1, 0.2]] * 6000}))
        assert "10 to 5000 points, got 6000" in receive_until(socket,
                                                              is_event("error"))["message"]
        settings["lr_d"] = -0.5
        socket.send_text(json.dumps({"type": "settings", "settings": settings,
                                     "points": [[0.1, 0.2]] * 20}))
        assert "lr_d must be a number in (0, 1], got -0.5" in receive_until(
            socket, is_event("error"))["message"]


def test_each_page_has_its_own_session(client):
    with client.websocket_connect("/ws") as first, client.websocket_connect("/ws") as second:
        receive_until(first, is_event("ready"))
        receive_until(second, is_event("ready"))
        for _ in range(3):
            first.send_text(json.dumps({"type": "step", "phase": "full"}))
        receive_until(first, is_frame(lambda h: h["step"] == 3))
        second.send_text(json.dumps({"type": "reset"}))
        ready = receive_until(second, is_event("ready"))
        assert ready["generation"] == 2 and ready["step"] == 0
        first.send_text(json.dumps({"type": "step", "phase": "full"}))
        header, _ = receive_until(first, is_frame(lambda h: h["step"] == 4))
        assert header["generation"] == 1  # the other page's reset did not touch this run
        with client.websocket_connect("/ws") as third:  # max_sessions=2
            refused = receive_until(third, is_event("error"))
            assert refused["fatal"] and "at most 2 pages" in refused["message"]


def test_gankit_view_serves_and_stops_cleanly_on_ctrl_c(tmp_path):
    server = subprocess.Popen([sys.executable, "-m", "gankit", "view", "ring8", "--port", "0",
                               "--runs", str(tmp_path / "runs")],
                              stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        address = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert address, line
        with urllib.request.urlopen(address.group(0), timeout=WAIT_S) as page:
            assert page.status == 200 and "gankit view" in page.read().decode()
        from websockets.sync.client import connect

        with connect(f"ws://127.0.0.1:{address.group(1)}/ws", max_size=2**24) as socket:
            while True:
                message = socket.recv(timeout=WAIT_S)
                if isinstance(message, str) and json.loads(message)["type"] == "ready":
                    break
            socket.send(json.dumps({"type": "play"}))
            assert isinstance(socket.recv(timeout=WAIT_S), (str, bytes))
            time.sleep(0.5)
            server.send_signal(signal.SIGINT)
            status = server.wait(timeout=WAIT_S)
    finally:
        if server.poll() is None:
            server.kill()
    rest = server.stderr.read()
    assert status == 128 + signal.SIGINT
    assert "Traceback" not in rest and rest.strip() == "gankit: interrupted by SIGINT"


def test_gankit_view_refuses_what_it_cannot_draw(capsys):
    from gankit.commandline.cli import main

    assert main(["view", "mnist5k", "--port", "0"]) == 2
    assert "gankit view trains the MLPs of 2-D toy data; mnist5k uses model" in \
        capsys.readouterr().err
    assert main(["view", "gaussian-1d", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "gankit view trains 2-D toy data" in err and err.count("\n") == 1
