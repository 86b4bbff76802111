#!/usr/bin/env bash
# Makes a short sample video with speech: espeak-ng's en+f3 voice over ffmpeg's test pattern.
# Usage: scripts/make_sample_video.sh OUT.mp4 [TEXT]
set -euo pipefail
out="$1"
text="${2:-Welcome to the django voxtral demo. This video was made on this machine a moment ago. The speech is cut at silences, sent in chunks, and stitched back with exact times.}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en+f3 -s 150 -w "$tmp/speech.wav" "$text"
ffmpeg -nostdin -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=640x360:rate=25" -i "$tmp/speech.wav" \
    -filter_complex "[1:a]apad=pad_dur=1[a]" -map 0:v -map "[a]" -shortest \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 96k "$out"
