"""Hostile uploads: playlists and concat scripts under video names must not reach out or read on.

Never point these files at anything but a local test server and a FIFO in the test's own dir.
"""

from __future__ import annotations

import errno
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ffmpeg_bridge import NotAMediaFile, probe, split
from ffmpeg_bridge.safety import ALLOWED_DEMUXERS, format_allowed, input_url
from ffmpeg_bridge.split import decode_args


class CountingServer(ThreadingHTTPServer):
    connections = 0

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "video/mp2t")
        self.end_headers()
        self.wfile.write(b"\x47" * 188)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[CountingServer]:
    httpd = CountingServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


class FifoWatch:
    """A FIFO next to the upload, and a thread that notices if anyone opens it for reading."""

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path)
        self.opened = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:  # ENXIO: nobody has it open for reading
                assert exc.errno == errno.ENXIO
            else:
                self.opened = True  # a reader is there; closing gives it EOF
                os.close(fd)
            self._stop.wait(0.002)

    def stop(self) -> bool:
        self._stop.set()
        self._thread.join()
        return self.opened


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[FifoWatch]:
    watch = FifoWatch(tmp_path / "secret.wav")
    yield watch
    watch.stop()


def hls(url: str) -> str:
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:10.0,\n{url}\n#EXT-X-ENDLIST\n"
    )


def hostile_files(tmp: Path, port: int, fifo: Path) -> list[Path]:
    files = {
        "video.mp4": hls(f"http://127.0.0.1:{port}/segment.ts"),
        "list.m3u8": hls(f"http://127.0.0.1:{port}/segment.ts"),
        "local.mp4": hls(fifo.name),
        "absolute.mkv": hls(f"file:{fifo}"),
        "clip.mp4": f"ffconcat version 1.0\nfile {fifo.name}\n",
        "unsafe.mp4": f"ffconcat version 1.0\nfile '{fifo}'\n",
    }
    paths = []
    for name, text in files.items():
        path = fifo.parent / name
        path.write_text(text)
        paths.append(path)
    return paths


def test_playlists_and_scripts_are_refused_without_reaching_out(
    tmp_path: Path, server: CountingServer, fifo: FifoWatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for path in hostile_files(tmp_path, server.server_address[1], fifo.path):
        with pytest.raises(NotAMediaFile) as caught:
            probe(path)
        assert "not allowed" in caught.value.reason or "Invalid data" in caught.value.reason
        with pytest.raises(NotAMediaFile):
            split(path, out)
    assert server.connections == 0
    assert fifo.stop() is False
    assert list(out.iterdir()) == []


def test_ffmpeg_itself_refuses_them_too(
    tmp_path: Path, server: CountingServer, fifo: FifoWatch
) -> None:
    """The decoder's own options block them even if a caller skipped probe()."""
    for path in hostile_files(tmp_path, server.server_address[1], fifo.path):
        read_fd, write_fd = os.pipe()
        try:
            done = subprocess.run(
                decode_args(path, write_fd, 16000),
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=60,
            )
        finally:
            os.close(write_fd)
            os.close(read_fd)
        assert done.returncode != 0, path.name
    assert server.connections == 0
    assert fifo.stop() is False


def test_the_hostile_files_would_work_without_the_guards(
    tmp_path: Path, server: CountingServer, fifo: FifoWatch
) -> None:
    """Control: plain ffprobe follows them, so the tests above prove something."""
    paths = hostile_files(tmp_path, server.server_address[1], fifo.path)
    for name in ("video.mp4", "clip.mp4"):
        path = next(p for p in paths if p.name == name)
        subprocess.run(
            ["ffprobe", "-v", "quiet", str(path)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
    fifo_opened = fifo.stop()
    if server.connections == 0 and not fifo_opened:
        pytest.skip("this ffmpeg build follows neither playlists nor concat scripts")
    print(f"control: {server.connections} connection(s), sibling opened: {fifo_opened}")
    assert server.connections > 0 or fifo_opened


def test_allowlist_leaves_out_dangerous_demuxers() -> None:
    for name in ("hls", "concat", "ffconcat", "image2", "lavfi", "sdp", "rtp", "rtsp", "data"):
        assert name not in ALLOWED_DEMUXERS
        assert not format_allowed(name)
    for name in ("dash", "tty", "srt", "webvtt", "ass", "v4l2", "alsa", "x11grab", "fbdev"):
        assert not format_allowed(name)
    assert format_allowed("mov,mp4,m4a,3gp,3g2,mj2")
    assert format_allowed("matroska,webm")


def test_names_are_passed_as_file_urls(tmp_path: Path) -> None:
    url = input_url(tmp_path / "-i x.mp4")
    assert url == f"file:{tmp_path}/-i x.mp4"
    args = decode_args(tmp_path / "-y", 3, 16000)
    assert args[args.index("-i") + 1] == f"file:{tmp_path}/-y"
    assert args.index("-protocol_whitelist") < args.index("-i")
    assert args[args.index("-protocol_whitelist") + 1] == "file"
    assert args.index("-format_whitelist") < args.index("-i")
    assert "-nostdin" in args
