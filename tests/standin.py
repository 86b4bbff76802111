"""A local stand-in of DeepInfra's speech service: the real contract over real HTTP on 127.0.0.1.

Never reach the network or pretend to understand speech it did not hear: answers are computed
from the audio actually received (energy-detected speech regions, or the offline Whisper engine).
"""

from __future__ import annotations

import argparse
import hmac
import io
import json
import re
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from django_voxtral.speech.backends.options import LANGUAGES

#: US dollars per audio minute (the contract's figures); other models are billed as Small.
PRICES = {"mistralai/Voxtral-Small-24B-2507": 0.003, "mistralai/Voxtral-Mini-3B-2507": 0.001}
DEFAULT_PRICE = 0.003

NATIVE_FIELDS = {
    "task",
    "initial_prompt",
    "temperature",
    "language",
    "chunk_level",
    "chunk_length_s",
    "webhook",
}
OPENAI_FIELDS = {
    "model",
    "language",
    "prompt",
    "temperature",
    "response_format",
    "timestamp_granularities[]",
}
#: Mistral's diarization: speakers labelled per segment, only with segment timestamps.
MISTRAL_FIELDS = {"diarize"}
LANGUAGE_NAMES = {"en": "english", "fr": "french", "de": "german", "es": "spanish"}
VLLM_FORMAT_ERROR = "Currently only support response_format `text` or `json`"
STATUS_FAULTS = {"400", "401", "403", "413", "422", "429", "500", "502", "503", "504"}

FRAME_SECONDS = 0.02
MERGE_GAP_SECONDS = 0.3
MIN_REGION_SECONDS = 0.1


class BadRequest(Exception):
    def __init__(self, status: int, payload: dict[str, Any]) -> None:
        super().__init__(payload)
        self.status = status
        self.payload = payload


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour: an error status (with optional Retry-After), ``drop`` (close
    the connection without an answer) or ``slow`` (answer only after ``seconds``)."""

    kind: str
    retry_after: str | None = None
    seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.kind not in STATUS_FAULTS | {"drop", "slow"}:
            raise ValueError(f"unknown fault {self.kind!r}: a status, 'drop' or 'slow'")


@dataclass(frozen=True)
class Upload:
    filename: str | None
    content_type: str | None
    size: int


@dataclass
class Received:
    """One request as the stand-in saw it (the token replaced by ``***``)."""

    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, list[str]]
    files: dict[str, Upload]
    audio_bytes: int
    client_port: int
    fault: str | None = None
    status: int | None = None  # None: dropped, or not answered yet


@dataclass
class _State:
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[Received] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    count: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)


def speech_regions(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """(start, end) seconds of the loud stretches: frame energy against the loudest frame."""
    frame = max(1, round(rate * FRAME_SECONDS))
    count = samples.size // frame
    if count == 0:
        return []
    frames = samples[: count * frame].reshape(count, frame)
    rms = np.sqrt(np.einsum("ij,ij->i", frames, frames) / frame)
    loud = rms >= max(0.005, 0.1 * float(rms.max()))
    edges = np.flatnonzero(np.diff(np.concatenate(([0], loud.astype(np.int8), [0]))))
    regions: list[list[float]] = []
    for first, stop in zip(edges[::2], edges[1::2], strict=True):
        start, end = first * FRAME_SECONDS, stop * FRAME_SECONDS
        if regions and start - regions[-1][1] < MERGE_GAP_SECONDS:
            regions[-1][1] = end
        else:
            regions.append([start, end])
    return [(round(a, 3), round(b, 3)) for a, b in regions if b - a >= MIN_REGION_SECONDS - 1e-9]


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Form fields and files ({name: (filename, content type, bytes)}) of a multipart body."""
    header = Message()
    header["content-type"] = content_type
    if header.get_content_type() != "multipart/form-data":
        raise BadRequest(400, {"detail": "expected multipart/form-data"})
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise BadRequest(400, {"detail": "multipart body without a boundary"})
    fields: dict[str, list[str]] = {}
    files: dict[str, tuple[str | None, str | None, bytes]] = {}
    delimiter = b"--" + boundary.encode("latin-1")
    parts = body.split(delimiter)
    if len(parts) < 3 or not parts[-1].startswith(b"--"):
        raise BadRequest(400, {"detail": "malformed multipart body"})
    for raw in parts[1:-1]:
        raw = raw.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, sep, content = raw.partition(b"\r\n\r\n")
        if not sep:
            raise BadRequest(400, {"detail": "malformed multipart part"})
        part = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            part[name.strip()] = value.strip()
        field_name = part.get_param("name", header="content-disposition")
        if not isinstance(field_name, str):
            raise BadRequest(400, {"detail": "multipart part without a name"})
        filename = part.get_param("filename", header="content-disposition")
        if isinstance(filename, str):
            if field_name in files:
                raise BadRequest(400, {"detail": f"file field {field_name} given twice"})
            files[field_name] = (filename, part.get("content-type"), content)
        else:
            fields.setdefault(field_name, []).append(content.decode("utf-8"))
    return fields, files


class StandIn:
    """The stand-in server. Thread-safe; start() / stop() or ``with``::

        with StandIn(token="t", latency=1.0) as server:
            backend = DeepInfraBackend(base_url=server.base_url, token="t")
            server.inject("429", "503", "drop", retry_after="0")  # consumed one per request
            ...
            server.requests       # every request received, token redacted
            server.max_in_flight  # most requests handled at once

    or from a shell: ``python -m tests.standin --port 8765 --latency 1``.
    """

    def __init__(
        self,
        *,
        token: str | None = "standin-token",
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        text_mode: str = "energy",
        vllm: bool = False,
        mistral: bool = False,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.latency = latency
        self.text_mode = text_mode
        self.vllm = vllm
        self.mistral = mistral
        #: Segment ids the OpenAI-style answer marks as probably not speech, as Whisper does
        #: (a high no_speech_prob with a low avg_logprob).
        self.not_speech_segments: set[int] = set()
        self._lock = threading.Lock()
        self._state = _State()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._whisper: Any = None

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> StandIn:
        handler = type("BoundHandler", (_Handler,), {"standin": self})
        server = ThreadingHTTPServer((self.host, self.port), handler, bind_and_activate=False)
        server.daemon_threads = True
        server.request_queue_size = 256  # many clients connecting at once must not be refused
        server.allow_reuse_address = True
        server.server_bind()
        server.server_activate()
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.cancel.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """For the deepinfra backend (its native endpoint lives under /v1/inference/)."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """For the openai backend, as DeepInfra serves it (``.../v1/openai``)."""
        return f"{self.base_url}/v1/openai"

    # -- controls ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forgets faults and records, cuts short any slow answer, restores the defaults."""
        with self._lock:
            self._state.cancel.set()
            self._state = _State()
        self.latency = 0.0
        self.text_mode = "energy"
        self.vllm = False
        self.mistral = False
        self.not_speech_segments = set()

    def inject(self, *faults: str | Fault, retry_after: str | float | None = None) -> None:
        """Queues faults, used one per request in order: "429", "503", "drop", "slow", ..."""
        ready = [
            f
            if isinstance(f, Fault)
            else Fault(str(f), None if retry_after is None else str(retry_after))
            for f in faults
        ]
        with self._lock:
            self._state.faults.extend(ready)

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._state.requests)

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._state.faults)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._state.in_flight

    @property
    def max_in_flight(self) -> int:
        with self._lock:
            return self._state.max_in_flight

    # -- handling (called from the handler threads) -----------------------------------------

    def _enter(self) -> _State:
        with self._lock:
            state = self._state
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            return state

    def _leave(self, state: _State) -> None:
        with self._lock:
            state.in_flight -= 1

    def _take_fault(self, state: _State) -> Fault | None:
        with self._lock:
            return state.faults.popleft() if state.faults else None

    def _record(self, state: _State, received: Received) -> int:
        with self._lock:
            state.requests.append(received)
            state.count += 1
            return state.count

    def check_token(self, authorization: str | None, scheme: str) -> None:
        if self.token is None:
            return
        # The scheme word is case-insensitive (RFC 9110); the token itself is not.
        word, _, value = (authorization or "").strip().partition(" ")
        if word.lower() != scheme or not hmac.compare_digest(value.strip(), self.token):
            raise BadRequest(401, {"detail": {"error": "invalid or missing API token"}})

    def analyse(self, audio: bytes, filename: str | None, language: str | None) -> dict[str, Any]:
        """The contract's result fields for the audio received (times in its own timeline)."""
        try:
            samples, rate = soundfile.read(io.BytesIO(audio), dtype="float32", always_2d=True)
        except (RuntimeError, ValueError) as exc:
            raise BadRequest(400, {"detail": f"could not decode the audio: {exc}"}) from None
        mono = samples.mean(axis=1)
        duration = round(mono.size / rate, 3) if rate else 0.0
        if self.text_mode == "whisper":
            return self._whisper_result(audio, filename, language, duration)
        segments: list[dict[str, Any]] = []
        words: list[dict[str, Any]] = []
        for index, (start, end) in enumerate(speech_regions(mono, int(rate))):
            text = f"speech {start:.2f}-{end:.2f}"
            segments.append({"id": index, "start": start, "end": end, "text": text})
            middle = round((start + end) / 2, 3)
            words.append({"start": start, "end": middle, "text": "speech"})
            words.append({"start": middle, "end": end, "text": f"{start:.2f}-{end:.2f}"})
        return {
            "text": " ".join(s["text"] for s in segments),
            "segments": segments,
            "words": words,
            "duration": duration,
        }

    def _whisper_result(
        self, audio: bytes, filename: str | None, language: str | None, duration: float
    ) -> dict[str, Any]:
        from django_voxtral.speech.backends.local import LocalBackend
        from django_voxtral.speech.backends.options import TranscriptionOptions

        with self._lock:
            if self._whisper is None:
                self._whisper = LocalBackend()
            engine = self._whisper
        suffix = Path(filename or "audio.wav").suffix or ".wav"
        with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
            handle.write(audio)
            handle.flush()
            result = engine.transcribe(handle.name, TranscriptionOptions(language=language or None))
        contract = result.to_contract()
        return {k: contract[k] for k in ("text", "segments", "words")} | {"duration": duration}

    def native(self, model: str, headers: Message, body: bytes) -> tuple[int, dict[str, Any]]:
        started = time.monotonic()
        self.check_token(headers.get("authorization"), "bearer")
        fields, files = parse_multipart(headers.get("content-type", ""), body)
        for name in fields:
            if name not in NATIVE_FIELDS:
                raise BadRequest(400, {"detail": f"unknown field {name!r}"})
            if len(fields[name]) > 1:
                raise BadRequest(400, {"detail": f"field {name!r} given more than once"})
        if set(files) != {"audio"}:
            raise BadRequest(400, {"detail": "expected exactly one file, in the field 'audio'"})
        form = {k: v[0] for k, v in fields.items()}
        _validate_native(form)
        filename, content_type, audio = files["audio"]
        if (content_type or "").startswith(("audio/webm", "video/webm")):
            raise BadRequest(500, {"detail": "inference error"})
        analysed = self.analyse(audio, filename, form.get("language"))
        duration = float(analysed["duration"])
        price = PRICES.get(model, DEFAULT_PRICE)
        language = "en" if form.get("task") == "translate" else form.get("language") or "en"
        return 200, {
            "text": analysed["text"],
            "segments": analysed["segments"],
            "language": language,
            "input_length_ms": round(duration * 1000),
            "words": analysed["words"],
            "duration": duration,
            "request_id": None,  # filled in by the handler
            "inference_status": {
                "status": "succeeded",
                "runtime_ms": round((time.monotonic() - started) * 1000),
                "cost": round(duration / 60 * price, 10),
                "tokens_generated": len(analysed["words"]),
                "tokens_input": 0,
            },
        }

    def openai(self, task: str, headers: Message, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            self.check_token(headers.get("authorization"), "bearer")
        except BadRequest:
            raise BadRequest(401, _openai_error("Incorrect API key provided", 401)) from None
        fields, files = parse_multipart(headers.get("content-type", ""), body)
        allowed = OPENAI_FIELDS | MISTRAL_FIELDS if self.mistral else OPENAI_FIELDS
        if task == "translate":
            allowed = allowed - {"language", "timestamp_granularities[]"}
        for name, values in fields.items():
            if name not in allowed:
                raise BadRequest(400, _openai_error(f"Unrecognized request argument: {name}", 400))
            if len(values) > 1 and name != "timestamp_granularities[]":
                raise BadRequest(400, _openai_error(f"{name} given more than once", 400))
        if set(files) != {"file"}:
            raise BadRequest(400, _openai_error("expected one file, in the field 'file'", 400))
        if not fields.get("model"):
            raise BadRequest(400, _openai_error("model is required", 400))
        response_format = fields.get("response_format", ["json"])[0]
        granularities = fields.get("timestamp_granularities[]", [])
        language = fields.get("language", [None])[0]
        if self.vllm and response_format not in ("json", "text"):
            raise BadRequest(400, _openai_error(VLLM_FORMAT_ERROR, 400))
        if response_format not in ("json", "verbose_json", "text"):
            raise BadRequest(400, _openai_error("unsupported response_format", 400))
        if granularities and response_format != "verbose_json":
            raise BadRequest(
                400,
                _openai_error("timestamp_granularities[] needs response_format verbose_json", 400),
            )
        if set(granularities) - {"segment", "word"}:
            raise BadRequest(400, _openai_error("timestamp_granularities[]: segment, word", 400))
        if self.mistral and granularities and language:
            raise BadRequest(
                400,
                {"message": "timestamp_granularities is not compatible with language"},
            )
        diarize = fields.get("diarize", ["false"])[0] == "true"
        if diarize and "segment" not in granularities:
            raise BadRequest(400, {"message": "diarize requires timestamp_granularities segment"})
        if language is not None and language not in LANGUAGES:
            raise BadRequest(400, _openai_error(f"unsupported language {language}", 400))
        filename, _content_type, audio = files["file"]
        analysed = self.analyse(audio, filename, language)
        if response_format != "verbose_json":
            return 200, {"text": analysed["text"]}
        spoken = "en" if task == "translate" else language or "en"
        answer: dict[str, Any] = {
            "task": task,
            "language": LANGUAGE_NAMES.get(spoken, spoken),
            "duration": analysed["duration"],
            "text": analysed["text"],
        }
        if not granularities or "segment" in granularities:
            answer["segments"] = [
                {
                    "id": s["id"],
                    "seek": 0,
                    "start": s["start"],
                    "end": s["end"],
                    "text": " " + s["text"],
                    "tokens": [],
                    "temperature": 0.0,
                    "avg_logprob": -1.4 if s["id"] in self.not_speech_segments else -0.1,
                    "compression_ratio": 1.0,
                    "no_speech_prob": 0.9 if s["id"] in self.not_speech_segments else 0.0,
                }
                # Not real diarization: the loud stretches take turns between two speakers.
                | ({"speaker_id": f"speaker_{s['id'] % 2}"} if diarize else {})
                for s in analysed["segments"]
            ]
        if "word" in granularities:
            answer["words"] = [
                {"word": w["text"], "start": w["start"], "end": w["end"]} for w in analysed["words"]
            ]
        return 200, answer


def _openai_error(message: str, code: int) -> dict[str, Any]:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    }


def _validate_native(form: dict[str, str]) -> None:
    def refuse(name: str, allowed: str) -> BadRequest:
        return BadRequest(400, {"detail": f"{name}: {form[name]!r} is not valid; {allowed}"})

    if form.get("task", "transcribe") not in ("transcribe", "translate"):
        raise refuse("task", "transcribe or translate")
    if form.get("chunk_level", "segment") not in ("segment", "word"):
        raise refuse("chunk_level", "segment or word")
    if "language" in form and form["language"] not in LANGUAGES:
        raise refuse("language", "an ISO 639-1 code")
    if "temperature" in form:
        try:
            float(form["temperature"])
        except ValueError:
            raise refuse("temperature", "a number") from None
    length = form.get("chunk_length_s")
    if length is not None and not (re.fullmatch(r"\d+", length) and 1 <= int(length) <= 30):
        raise refuse("chunk_length_s", "an integer from 1 to 30")


class _Handler(BaseHTTPRequestHandler):
    standin: StandIn
    _body: bytes = b""
    _received_at: float = 0.0
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can pool connections
    # Headers and body go out in two writes; with Nagle's algorithm on, the second waits for
    # the client's delayed ACK (40 ms a request, which would show in every benchmark).
    disable_nagle_algorithm = True
    timeout = 30  # idle keep-alive connections let go of their thread

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._send(404, {"detail": "not found"})

    def do_POST(self) -> None:
        self._received_at = time.monotonic()
        standin = self.standin
        state = standin._enter()
        try:
            self._handle(standin, state)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its read timeout): nobody to answer
        finally:
            standin._leave(state)

    def _handle(self, standin: StandIn, state: _State) -> None:
        length = self.headers.get("content-length")
        if length is None or not length.isdigit():
            self._send(411, {"detail": "Content-Length required"})
            return
        body = self.rfile.read(int(length))
        self._body = body
        try:
            fields, files = parse_multipart(self.headers.get("content-type", ""), body)
        except BadRequest:
            fields, files = {}, {}
        audio = files.get("audio") or files.get("file")
        headers = {k.lower(): v for k, v in self.headers.items()}
        if "authorization" in headers:
            scheme = headers["authorization"].split(" ", 1)[0]
            headers["authorization"] = f"{scheme} ***"
        fault = standin._take_fault(state)
        received = Received(
            method="POST",
            path=self.path,
            headers=headers,
            fields=fields,
            files={k: Upload(v[0], v[1], len(v[2])) for k, v in files.items()},
            audio_bytes=len(audio[2]) if audio else 0,
            client_port=self.client_address[1],
            fault=fault.kind if fault else None,
        )
        number = standin._record(state, received)

        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.kind == "slow" and state.cancel.wait(fault.seconds):
            return
        if fault is not None and fault.kind in STATUS_FAULTS:
            status = int(fault.kind)
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            received.status = status
            self._send(status, {"detail": f"injected fault {status}"}, extra)
            return

        try:
            status, payload = self._route(standin)
        except BadRequest as exc:
            status, payload = exc.status, exc.payload
        if status == 200 and "request_id" in payload:
            payload["request_id"] = f"standin-{number:06d}"
        # The latency is the service's whole time per request, our own work included.
        wait = standin.latency - (time.monotonic() - self._received_at)
        if wait > 0 and state.cancel.wait(wait):
            return
        received.status = status
        self._send(status, payload)

    def _route(self, standin: StandIn) -> tuple[int, dict[str, Any]]:
        path = self.path.split("?", 1)[0]
        body = self._body
        if path.startswith("/v1/inference/") and len(path) > len("/v1/inference/"):
            return standin.native(path.removeprefix("/v1/inference/"), self._message(), body)
        match = re.fullmatch(r"/v1(?:/openai)?/audio/(transcriptions|translations)", path)
        if match:
            task = "translate" if match.group(1) == "translations" else "transcribe"
            return standin.openai(task, self._message(), body)
        return 404, {"detail": f"no route {path}"}

    def _message(self) -> Message:
        message = Message()
        for key, value in self.headers.items():
            message[key] = value
        return message

    def _send(
        self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


def _serve(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the local stand-in of the speech service.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--token", default="standin-token", help="'' to accept any request")
    parser.add_argument("--text", choices=("energy", "whisper"), default="energy")
    parser.add_argument("--vllm", action="store_true", help="refuse verbose_json as vLLM does")
    args = parser.parse_args(list(argv) if argv is not None else None)
    server = StandIn(
        token=args.token or None,
        host=args.host,
        port=args.port,
        latency=args.latency,
        text_mode=args.text,
        vllm=args.vllm,
    )
    with server:
        print(f"stand-in listening: deepinfra base_url {server.base_url}", flush=True)
        print(f"                    openai base_url    {server.openai_base_url}", flush=True)
        print("Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    _serve()
