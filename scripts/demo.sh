#!/usr/bin/env bash
# `make demo`: makes a sample video with speech and transcribes it with the voxtral CLI into SRT.
# With DEEPINFRA_TOKEN set it uses DeepInfra's Voxtral; without it, the offline engine.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p demo-output
scripts/make_sample_video.sh demo-output/sample.mp4
if [ -n "${DEEPINFRA_TOKEN:-}" ]; then backend=deepinfra; else backend=local; fi
echo "Transcribing demo-output/sample.mp4 with the $backend backend..." >&2
.venv/bin/voxtral transcribe demo-output/sample.mp4 --backend "$backend" -f srt | tee demo-output/sample.srt
echo "Written: demo-output/sample.srt. Try also: .venv/bin/voxtral transcribe demo-output/sample.mp4 -f json" >&2
