#!/usr/bin/env bash
# `make demo`: the example site on SQLite with an embedded db_worker, a demo user and a sample video.
# With DEEPINFRA_TOKEN set, Voxtral on DeepInfra transcribes; without it, the offline engine.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
py="$root/.venv/bin/python"
port="${DEMO_PORT:-8000}"

mkdir -p demo-output
[ -f demo-output/sample.mp4 ] || scripts/make_sample_video.sh demo-output/sample.mp4

cd example_project
"$py" manage.py migrate --noinput >/dev/null
creds="$("$py" manage.py demo_setup "$root/demo-output/sample.mp4")"
eval "$creds"   # sets user, password, token

"$py" manage.py db_worker --queue-name default >"$root/demo-output/worker.log" 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM

if [ -n "${DEEPINFRA_TOKEN:-}" ]; then engine="Voxtral on DeepInfra"; else engine="the offline engine (faster-whisper, Whisper base)"; fi
cat <<MSG

django-voxtral demo: transcripts by $engine, worker log in demo-output/worker.log

  Admin:        http://127.0.0.1:$port/admin/   user: $user   password: $password
  Transcripts:  http://127.0.0.1:$port/admin/django_voxtral/transcript/   ("Open": the workspace)
  Search:       http://127.0.0.1:$port/admin/django_voxtral/transcript/search/?q=django
  Videos:       http://127.0.0.1:$port/admin/videos/video/   (select some, action "Transcribe")
  Video pages:  http://127.0.0.1:$port/videos/   (public: player, captions, transcript)
  REST API:     http://127.0.0.1:$port/api/transcripts/   (token: $token)
  API schema:   http://127.0.0.1:$port/api/schema/

  curl -H "Authorization: Token $token" http://127.0.0.1:$port/api/transcripts/
  curl -X POST -H "Authorization: bearer $token" -F audio=@demo-output/sample.mp4 \\
       http://127.0.0.1:$port/v1/inference/mistralai/Voxtral-Small-24B-2507

Press Ctrl-C to stop.
MSG
"$py" manage.py runserver "127.0.0.1:$port" --noreload
