"""The stand-in itself: many requests at once, its text modes, its strictness, its shell mode.

Never trust a test tool blindly: these tests show it does what the backend tests rely on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import soundfile

from tests.data import JFK
from tests.standin import StandIn, speech_regions

SMALL = "mistralai/Voxtral-Small-24B-2507"


def post(standin: StandIn, token: str, audio: Path, **fields: str) -> httpx.Response:
    return httpx.post(
        f"{standin.base_url}/v1/inference/{SMALL}",
        headers={"Authorization": f"bearer {token}"},
        data=fields,
        files={"audio": (audio.name, audio.read_bytes(), "audio/flac")},
        timeout=30,
    )


def test_serves_sixteen_requests_at_once(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    # Long enough that all sixteen arrive before the first answer, even on a busy machine.
    standin.latency = 2.0
    statuses: list[int] = []
    barrier = threading.Barrier(16)
    audio = tones_audio["flac"]
    body = audio.read_bytes()

    with httpx.Client(limits=httpx.Limits(max_connections=16), timeout=30) as client:

        def one() -> None:
            barrier.wait()
            answer = client.post(
                f"{standin.base_url}/v1/inference/{SMALL}",
                headers={"Authorization": f"bearer {standin_token}"},
                files={"audio": (audio.name, body, "audio/flac")},
            )
            statuses.append(answer.status_code)

        threads = [threading.Thread(target=one) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [200] * 16
    assert standin.max_in_flight == 16
    # A handler leaves after its answer is written, so the client may read the last answer a
    # moment before the count drops: wait for it (a handler that never left fails here).
    deadline = time.monotonic() + 5
    while standin.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert standin.in_flight == 0


def test_answer_is_computed_from_the_audio_received(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    answer = post(standin, standin_token, tones_audio["flac"], language="de").json()
    assert list(answer) == [
        "text",
        "segments",
        "language",
        "input_length_ms",
        "words",
        "duration",
        "request_id",
        "inference_status",
    ]
    assert answer["language"] == "de"
    assert answer["duration"] == pytest.approx(4.0)
    assert [s["text"] for s in answer["segments"]] == ["speech 0.50-1.50", "speech 2.50-3.00"]
    assert answer["inference_status"]["cost"] == pytest.approx(4.0 / 60 * 0.003)


def test_scheme_word_is_case_insensitive_but_the_token_is_not(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    audio = tones_audio["flac"]
    assert post(standin, standin_token, audio).status_code == 200
    ok = httpx.post(
        f"{standin.base_url}/v1/inference/{SMALL}",
        headers={"Authorization": f"Bearer {standin_token}"},
        files={"audio": (audio.name, audio.read_bytes(), "audio/flac")},
    )
    assert ok.status_code == 200
    assert post(standin, standin_token.upper(), audio).status_code == 401
    assert standin_token not in json.dumps([r.headers for r in standin.requests])


@pytest.mark.parametrize(
    ("field", "value"),
    [("task", "summarize"), ("chunk_length_s", "31"), ("language", "english"), ("x", "1")],
)
def test_refuses_what_the_contract_refuses(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path], field: str, value: str
) -> None:
    answer = post(standin, standin_token, tones_audio["flac"], **{field: value})
    assert answer.status_code == 400
    assert field in answer.text


def test_speech_regions_of_tones(tones_audio: dict[str, Path]) -> None:
    samples, rate = soundfile.read(str(tones_audio["wav44stereo"]), always_2d=True)
    regions = speech_regions(samples.mean(axis=1), rate)
    assert [round(t, 1) for r in regions for t in r] == [0.5, 1.5, 2.5, 3.0]


def test_whisper_mode_answers_real_words(
    standin: StandIn, standin_token: str, tmp_path: Path
) -> None:
    pytest.importorskip("faster_whisper")
    data, rate = soundfile.read(str(JFK), always_2d=True)
    piece = tmp_path / "fellow.flac"
    soundfile.write(str(piece), data[: int(rate * 2.5)], rate)  # "and so my fellow americans"
    standin.text_mode = "whisper"
    answer = post(standin, standin_token, piece).json()
    assert "fellow" in answer["text"]
    assert answer["words"] and answer["words"][0]["start"] < answer["words"][-1]["end"]


def test_runs_from_the_shell(tones_audio: dict[str, Path]) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.standin", "--port", "0", "--token", "shell-token"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        base_url = first.split("base_url", 1)[1].strip()
        audio = tones_audio["flac"]
        answer = httpx.post(
            f"{base_url}/v1/inference/{SMALL}",
            headers={"Authorization": "bearer shell-token"},
            files={"audio": (audio.name, audio.read_bytes(), "audio/flac")},
            timeout=30,
        )
        assert answer.status_code == 200
        assert answer.json()["duration"] == pytest.approx(4.0)
    finally:
        process.terminate()
        process.wait(timeout=10)
