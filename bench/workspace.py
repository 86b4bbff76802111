"""Benchmark: how long the workspace page of a 3-hour transcript takes to become usable in Chromium.

Only ever its own example site on 127.0.0.1 with a fresh SQLite database in a temporary folder;
never an existing database, never the network, never judged without the all-at-once anchor.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ffmpeg_bridge import PeakAccumulator, encode_peaks
from tests.example_site import EXAMPLE, example_env, manage

from .media import OUT
from .serve import HOST, _stop, free_port, fresh_database

RUNS = 5  # page loads of each kind, alternating, after one warm-up load of each
HOURS = 3
SEGMENTS = 3_000  # a segment every 3.6 s ...
WORDS = 10  # ... of 10 timed words: 30,000 words, some 167 a minute
CHUNK_SECONDS = 30
TARGET_MS = 1_000.0  # "usable in under a second"
UPDATES = 1_000  # follow.update() calls at random times
PIECE_SECONDS = 600  # the media is this piece (a tone, Opus in WebM) copied end to end
MEDIA = OUT / "workspace-3h.webm"
PEAKS = OUT / "workspace-3h.peaks.json"
#: Chromium's arguments, as tests/pages/conftest.py.
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
    "--window-size=1280,900",
    "--disable-gpu",
)

#: Runs in `manage.py shell -c`: the user, its session, the done transcript with its media,
#: chunks and peaks, through the ORM. Prints what the browser needs as JSON.
SETUP = """
import json, random, sys
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
from django.core.files import File
from django.utils import timezone
from django_voxtral.models import Segment, Transcript, TranscriptChunk

media, peaks_path = {media!r}, {peaks!r}
draw = random.Random(8)
vocabulary = (
    "the a and of to in that it is was we for on with as this they be at by from have not "
    "quarterly report shows steady growth every region serve please remember bring signed "
    "forms front desk tomorrow morning meeting budget schedule hires thank coming again week "
    "customers expect answers before contract renewal engineering infrastructure questions"
).split()
user = get_user_model().objects.create_user("bench", password=None)
now = timezone.now()
duration = {hours} * 3600.0
step = duration / {segments}
rows, chunks = [], {{}}
for s in range({segments}):
    start = round(s * step, 3)
    words = []
    for w in range({words}):
        a = round(start + 0.34 * w, 3)
        words.append({{"start": a, "end": round(a + 0.28, 3), "text": draw.choice(vocabulary)}})
    speaker = f"speaker_{{(s // 4) % 2}}"
    rows.append(Segment(index=s, start=start, end=round(start + 3.4, 3), speaker=speaker,
                        text=" ".join(w["text"] for w in words), words=words))
    chunks.setdefault(int(start // {chunk}), []).append(rows[-1])
t = Transcript.objects.create(
    owner=user, media_name="three-hours.webm", status="done", language="en",
    detected_language="en", text=" ".join(r.text for r in rows), duration=duration,
    chunks_total=len(chunks), chunks_done=len(chunks), started=now, finished=now,
    runtime_ms=600000, model="voxtral-mini", peaks=json.load(open(peaks_path)),
)
with open(media, "rb") as fh:
    t.media.save("three-hours.webm", File(fh, name="three-hours.webm"), save=True)
for r in rows:
    r.transcript = t
Segment.objects.bulk_create(rows, batch_size=500)
TranscriptChunk.objects.bulk_create(
    TranscriptChunk(
        transcript=t, index=c, start=c * {chunk}.0, end=min(duration, (c + 1) * {chunk}.0),
        result={{"text": " ".join(r.text for r in segs), "language": "en",
                 "duration": {chunk}.0, "segments": [
                     {{"id": i, "start": round(r.start - c * {chunk}, 3),
                      "end": round(r.end - c * {chunk}, 3), "text": r.text}}
                     for i, r in enumerate(segs)]}},
    )
    for c, segs in sorted(chunks.items())
)
session = import_module(settings.SESSION_ENGINE).SessionStore()
session[SESSION_KEY] = user._meta.pk.value_to_string(user)
session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.save()
print(json.dumps({{
    "id": str(t.pk), "cookie": settings.SESSION_COOKIE_NAME, "session": session.session_key,
    "words": sum(len(r.words) for r in rows), "segments": len(rows), "chunks": len(chunks),
}}))
"""

#: Before the page's own scripts, in every load: a note of when the frame after
#: "voxtral-workspace-ready" was drawn (a frame, then a task: its layout and paint are done).
#: The anchor's loads also remove IntersectionObserver, so follow.js draws every window at once.
HOOK = """
(function () {
  var mark = Performance.prototype.mark;
  window.__voxtralBench = {};
  performance.mark = function (name) {
    var entry = mark.apply(performance, arguments);
    if (name === "voxtral-workspace-ready") {
      requestAnimationFrame(function () {
        setTimeout(function () { window.__voxtralBench.frame = performance.now(); }, 0);
      });
    }
    return entry;
  };
})();
"""
ALL_AT_ONCE = "delete window.IntersectionObserver;\n"

#: After the load: the marks, the navigation's timing and what #voxtral-words holds.
READ_LOAD = """
var nav = performance.getEntriesByType("navigation")[0];
var at = function (name) {
  var found = performance.getEntriesByName(name);
  return found.length ? found[0].startTime : null;
};
var box = document.getElementById("voxtral-words");
var follow = window.voxtralWorkspace.follow;
return {
  response_start: nav.responseStart, response_end: nav.responseEnd,
  dom_content_loaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
  first_words: at("voxtral-follow-first-words"), ready: at("voxtral-workspace-ready"),
  frame: window.__voxtralBench.frame,
  elements: box.getElementsByTagName("*").length,
  word_spans: box.getElementsByClassName("voxtral-word").length,
  page_elements: document.getElementsByTagName("*").length,
  words: follow.wordStarts.length,
  windows: follow.windows.length,
  windows_drawn: follow.windows.filter(function (w) { return w.rendered; }).length,
  observer: !!follow.observer,
  page_bytes: nav.decodedBodySize,
  json_bytes: new Blob([document.getElementById("voxtral-data").textContent]).size
};
"""

#: Scrolls #voxtral-words to its end and waits until the last segment is drawn there (once
#: drawn windows change the heights, to the end again): how long, and the last segment's word.
SCROLL_TO_END = """
var done = arguments[arguments.length - 1];
var follow = window.voxtralWorkspace.follow;
var box = follow.container;
var last = follow.segments.length - 1;
var began = performance.now();
var frames = 0;
function nextFrame(then) {
  requestAnimationFrame(function () { setTimeout(then, 0); });
}
box.scrollTop = box.scrollHeight;
(function wait() {
  nextFrame(function () {
    frames += 1;
    var words = follow.wordElements[last];
    var bottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 2;
    if ((!words || !bottom) && frames < 200) {
      box.scrollTop = box.scrollHeight;
      wait();
      return;
    }
    done({scroll_ms: performance.now() - began, frames: frames,
          word: words ? words[Math.floor(words.length / 2)] : null});
  });
})();
"""

#: Before the click: when the browser took it, when aria-current reached the word, the frame after.
WATCH_CLICK = """
var span = arguments[0];
var seen = window.__voxtralBench;
seen.click = seen.current = seen.clicked_frame = null;
window.addEventListener("click", function (event) { seen.click = event.timeStamp; },
                        {capture: true, once: true});
new MutationObserver(function (records, observer) {
  if (span.getAttribute("aria-current") !== "true") return;
  seen.current = performance.now();
  observer.disconnect();
  requestAnimationFrame(function () {
    setTimeout(function () { seen.clicked_frame = performance.now(); }, 0);
  });
}).observe(span, {attributes: true, attributeFilter: ["aria-current"]});
"""

#: follow.update(true, t) at UPDATES random times (seeded), twice: first as a reader's seeks
#: find the page (windows drawn as they are reached), then again with those windows drawn.
UPDATE_COST = f"""
var follow = window.voxtralWorkspace.follow;
var end = follow.wordStarts[follow.wordStarts.length - 1];
var seed = 12345;
var times = [];
for (var i = 0; i < {UPDATES}; i++) {{
  seed = (seed * 1103515245 + 12345) % 2147483648;
  times.push((seed / 2147483648) * end);
}}
var drawnBefore = follow.windows.filter(function (w) {{ return w.rendered; }}).length;
var worst = 0;
var began = performance.now();
for (i = 0; i < times.length; i++) {{
  var a = performance.now();
  follow.update(true, times[i]);
  worst = Math.max(worst, performance.now() - a);
}}
var first = performance.now() - began;
began = performance.now();
for (i = 0; i < times.length; i++) follow.update(true, times[i]);
var second = performance.now() - began;
return {{
  first_ms: first / times.length, again_ms: second / times.length, worst_ms: worst,
  drawn_before: drawnBefore,
  drawn_after: follow.windows.filter(function (w) {{ return w.rendered; }}).length
}};
"""


@dataclass(frozen=True)
class Load:
    """One page load of one kind: times from navigation start (ms), and what was drawn."""

    kind: str  # "windows" or "all" (the anchor)
    response_start: float
    response_end: float
    dom_content_loaded: float
    first_words: float
    ready: float
    frame: float  # the frame after "ready" drawn: usable
    load: float
    elements: int  # elements inside #voxtral-words after the load
    word_spans: int
    page_elements: int
    words: int  # words in the transcript
    windows: int
    windows_drawn: int
    page_bytes: int
    json_bytes: int
    scroll_ms: float  # scrolled to the end until the last segment's words are drawn
    click_ms: float  # a click on a word there until aria-current is on it
    click_frame_ms: float  # ... until the frame after that is drawn
    update_ms: float  # one follow.update() at a random time, windows drawn as reached
    update_again_ms: float  # ... the same times again, their windows drawn
    update_worst_ms: float


@dataclass(frozen=True)
class WorkspaceFigures:
    loads: list[Load]
    segments: int
    words: int
    chunks: int
    media_bytes: int
    peaks_bytes: int
    setup_s: float

    def of(self, kind: str) -> list[Load]:
        return [x for x in self.loads if x.kind == kind]

    def median(self, kind: str, field: str) -> float:
        return float(statistics.median(getattr(x, field) for x in self.of(kind)))


def _run(args: list[str], timeout: float = 600) -> None:
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


def three_hours() -> tuple[Path, Path]:
    """The media (a quiet tremolo tone, Opus at 6 kbit/s in WebM) and its stored peaks, cached
    in bench/out: a 10-minute piece copied end to end, the peaks as split() would feed them."""
    if MEDIA.exists() and PEAKS.exists():
        return MEDIA, PEAKS
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=OUT) as work:
        piece = Path(work) / "piece.webm"
        _run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
              "-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=16000:duration={PIECE_SECONDS}",
              "-af", "volume=0.3,tremolo=f=0.25:d=0.8", "-ac", "1",
              "-c:a", "libopus", "-b:a", "6k", "-application", "voip",
              "-compression_level", "0", "-frame_duration", "60", str(piece)])  # fmt: skip
        listing = Path(work) / "list.txt"
        copies = HOURS * 3600 // PIECE_SECONDS
        listing.write_text(f"file '{piece}'\n" * copies, encoding="utf-8")
        made = Path(work) / MEDIA.name
        _run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
              "-i", str(listing), "-c", "copy", str(made)])  # fmt: skip
        # The peaks as the runner stores them: the whole file decoded to 16 kHz mono (what
        # split() feeds the accumulator), then encode_peaks().
        accumulator = PeakAccumulator(16_000)
        decoder = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(made),
             "-f", "s16le", "-ac", "1", "-ar", "16000", "-"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert decoder.stdout is not None
        while block := decoder.stdout.read(16_000 * 2 * 30):
            accumulator.feed(np.frombuffer(block[: len(block) // 2 * 2], dtype=np.int16))
        if decoder.wait(timeout=600):
            raise RuntimeError("ffmpeg could not decode the benchmark's media")
        peaks = Path(work) / PEAKS.name
        peaks.write_text(json.dumps(encode_peaks(accumulator.result())), encoding="utf-8")
        made.replace(MEDIA)
        peaks.replace(PEAKS)
    return MEDIA, PEAKS


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Until the site serves follow.js at url (at most 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"runserver exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the example site did not serve {url} within 60 s")


@contextlib.contextmanager
def _site() -> Iterator[tuple[int, dict[str, Any], float]]:
    """The example site with the transcript, under `manage.py runserver --insecure --noreload`
    (DEBUG off; --insecure serves the static files, as gunicorn would not): port, made, setup s."""
    media, peaks = three_hours()
    folder = Path(tempfile.mkdtemp(prefix="voxtral-workspace-"))
    try:
        with fresh_database("sqlite", folder) as url:
            env = example_env(
                DATABASE_URL=url,
                MEDIA_ROOT=str(folder / "media"),
                DJANGO_SETTINGS_MODULE="example_project.settings",
                DJANGO_DEBUG="0",
                DJANGO_SECRET_KEY=secrets.token_urlsafe(40),
                HF_HUB_OFFLINE="1",
                TMPDIR=str(folder),
            )
            began = time.perf_counter()
            manage("migrate", "--noinput", env=env, timeout=600)
            script = SETUP.format(
                media=str(media), peaks=str(peaks), hours=HOURS, segments=SEGMENTS,
                words=WORDS, chunk=CHUNK_SECONDS,
            )  # fmt: skip
            out = manage("shell", "-c", script, env=env, timeout=600)
            made = json.loads(out.strip().splitlines()[-1])
            setup_s = time.perf_counter() - began
            port = free_port()
            log = folder / "runserver.log"
            with open(log, "wb") as log_file:
                server = subprocess.Popen(
                    [sys.executable, "manage.py", "runserver", "--insecure", "--noreload",
                     f"{HOST}:{port}"],
                    cwd=EXAMPLE, env=env, stdin=subprocess.DEVNULL,
                    stdout=log_file, stderr=subprocess.STDOUT,
                )  # fmt: skip
            try:
                _wait_until_up(f"http://{HOST}:{port}/static/django_voxtral/follow.js", server, log)
                yield port, made, setup_s
            finally:
                _stop(server)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        raise RuntimeError("the workspace benchmark needs chromium and chromedriver")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in CHROMIUM_ARGS:
        options.add_argument(argument)
    browser = webdriver.Chrome(options=options, service=Service(driver))
    browser.set_page_load_timeout(120)
    browser.set_script_timeout(120)
    return browser


def _until(check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise TimeoutError("the workspace page did not get there in time")


def _load(browser: Any, url: str, kind: str) -> Load:
    """One fresh load of the page (from about:blank), of the kind, with every figure of it."""
    hook = browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": (ALL_AT_ONCE if kind == "all" else "") + HOOK},
    )
    try:
        browser.get("about:blank")
        browser.get(url)
    finally:
        browser.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": hook["identifier"]}
        )
    _until(lambda: browser.execute_script("return window.__voxtralBench.frame"))
    figures = browser.execute_script(READ_LOAD)
    if (kind == "all") == figures.pop("observer"):
        raise RuntimeError(f"the {kind} load did not draw its windows as meant")
    scrolled = browser.execute_async_script(SCROLL_TO_END)
    if scrolled["word"] is None:
        raise RuntimeError("the last segment was never drawn after scrolling to the end")
    browser.execute_script(WATCH_CLICK, scrolled["word"])
    scrolled["word"].click()
    seen = _until(
        lambda: browser.execute_script(
            "var s = window.__voxtralBench; return s.clicked_frame && s;"
        )
    )
    updates = browser.execute_script(UPDATE_COST)
    return Load(
        kind=kind,
        scroll_ms=scrolled["scroll_ms"],
        click_ms=seen["current"] - seen["click"],
        click_frame_ms=seen["clicked_frame"] - seen["click"],
        update_ms=updates["first_ms"],
        update_again_ms=updates["again_ms"],
        update_worst_ms=updates["worst_ms"],
        **figures,
    )


def measure(runs: int = RUNS) -> WorkspaceFigures:
    """Warm-up loads of each kind, then ``runs`` of each, alternating, on one site and browser."""
    loads: list[Load] = []
    with _site() as (port, made, setup_s):
        browser = _browser()
        try:
            base = f"http://{HOST}:{port}"
            browser.get(f"{base}/static/django_voxtral/follow.css")
            browser.add_cookie({"name": made["cookie"], "value": made["session"], "path": "/"})
            url = f"{base}/transcripts/{made['id']}/"
            for kind in ("windows", "all"):
                _load(browser, url, kind)  # warm-up: the server's first answer, the cache
            for run in range(runs):
                for kind in ("windows", "all") if run % 2 == 0 else ("all", "windows"):
                    loads.append(_load(browser, url, kind))
                    x = loads[-1]
                    print(
                        f"  {kind}: first byte {x.response_start:.0f} ms, ready {x.ready:.0f} ms, "
                        f"usable {x.frame:.0f} ms",
                        flush=True,
                    )
        finally:
            browser.quit()
    return WorkspaceFigures(
        loads=loads,
        segments=made["segments"],
        words=made["words"],
        chunks=made["chunks"],
        media_bytes=MEDIA.stat().st_size,
        peaks_bytes=len(PEAKS.read_bytes()),
        setup_s=setup_s,
    )


_MEDIANS = (
    "response_start", "dom_content_loaded", "first_words", "ready", "frame", "elements",
    "word_spans", "scroll_ms", "click_ms", "click_frame_ms", "update_ms", "update_again_ms",
    "update_worst_ms",
)  # fmt: skip


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _us(value_ms: float) -> str:
    return f"{value_ms * 1000:.0f} µs" if value_ms < 1 else _ms(value_ms)


def report(f: WorkspaceFigures) -> list[str]:
    from .__main__ import verdict

    windows, anchor = f.of("windows")[0], f.of("all")[0]
    usable = f.median("windows", "frame")
    lines = [
        "## The workspace with a 3-hour transcript",
        "",
        f"The owner's page (`/transcripts/<uuid>/`) of a done transcript of {HOURS} hours: "
        f"{f.segments:,} segments of {WORDS} timed words ({f.words:,} words), two speakers, "
        f"{f.chunks} chunk rows (one every {CHUNK_SECONDS} s), the stored peaks "
        f"(`encode_peaks`, {f.peaks_bytes:,} bytes) and a real {HOURS}-hour media file "
        f"(a quiet tone, Opus at 6 kbit/s in WebM, {f.media_bytes / 1e6:.1f} MB) saved "
        "through the storage, made by a `manage.py shell` script in a fresh SQLite database "
        "in a temporary folder. The example site runs under `manage.py runserver --insecure "
        "--noreload` with `DJANGO_DEBUG=0` (the example has no static files server under "
        "gunicorn; `--insecure` has runserver serve them) on 127.0.0.1; Debian's headless "
        "Chromium, driven by selenium with the page tests' options, logs in with a session "
        "made by the script. After one warm-up load of each kind, "
        f"{len(f.of('windows'))} fresh loads of each from about:blank, alternating: "
        "**windows**, the page as it is (follow.js draws windows of 25 segments as they come "
        "within a screen of the view), and the anchor, **all at once**, the same page with "
        "`IntersectionObserver` removed before its scripts run, so follow.js draws every "
        f"window ({windows.windows} of them) while it starts. Times are from navigation "
        "start: the server's first byte, DOMContentLoaded, the first words drawn "
        '(`performance.mark("voxtral-follow-first-words")`), the page ready (the mark at the '
        "end of workspace.js's start) and **usable**: the frame after it drawn (a frame, "
        "then a task: its style, layout and paint done), the target's measure. Then, in the "
        "same load: #voxtral-words scrolled to its end until the last segment's words are "
        "drawn there; a click (selenium's, a real input event) on a word of the last segment "
        "until `aria-current` is on it and until the frame after; last, "
        f"`follow.update(true, t)` at {UPDATES:,} random times, the mean of a call as a "
        "reader's seeks meet the page (windows drawn as they are reached, and the view "
        "scrolled to the word) and of the same times again, and the slowest single call. "
        "Medians of the loads; the machine is shared with other engineers' test runs.",
        "",
        "| page | first byte | DOMContentLoaded | first words | ready | **usable** "
        f"(target < {TARGET_MS / 1000:g} s) | elements in #voxtral-words (word spans of "
        f"{f.words:,} words) | scroll to the end | click to `aria-current` (to its frame) | "
        "update() at a random time: as met, again, slowest |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind, name in (("windows", "windows of 25 segments"), ("all", "all at once (anchor)")):
        first = f.of(kind)[0]
        m = {field: f.median(kind, field) for field in _MEDIANS}
        usable_kind = m["frame"]
        slowest = max(x.frame for x in f.of(kind))
        met = f"{verdict(usable_kind < TARGET_MS)}; " if kind == "windows" else ""
        met = f" ({met}slowest {_ms(slowest)})"
        lines.append(
            f"| {name} | {_ms(m['response_start'])} | {_ms(m['dom_content_loaded'])} | "
            f"{_ms(m['first_words'])} | {_ms(m['ready'])} | **{_ms(usable_kind)}**{met} | "
            f"{m['elements']:,.0f} ({m['word_spans']:,.0f}; {first.windows_drawn} of "
            f"{first.windows} windows) | {_ms(m['scroll_ms'])} | {_ms(m['click_ms'])} "
            f"({_ms(m['click_frame_ms'])}) | {_us(m['update_ms'])}, "
            f"{_us(m['update_again_ms'])}, {_ms(m['update_worst_ms'])} |"
        )
    saved = f.median("all", "frame") - usable
    lines += [
        "",
        f"Usable in {usable / 1000:.2f} s against {TARGET_MS / 1000:g} s: "
        f"{verdict(usable < TARGET_MS)}. Drawing in windows saves {_ms(saved)} of the "
        f"anchor's {_ms(f.median('all', 'frame'))} "
        f"({f.median('all', 'elements'):,.0f} elements at once against "
        f"{f.median('windows', 'elements'):,.0f}). The page is "
        f"{windows.page_bytes / 1e6:.2f} MB of HTML, {windows.json_bytes / 1e6:.2f} MB of it "
        f"the words' JSON; the whole page has {windows.page_elements:,} elements "
        f"({anchor.page_elements:,} all at once). Making the site and the transcript took "
        f"{f.setup_s:.0f} s.",
        "",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(report(measure())))
