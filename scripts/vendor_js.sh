#!/usr/bin/env bash
# Refreshes the JavaScript libraries the pages ship (django_voxtral/static/.../vendor/) from npm,
# each with its licence; run by a maintainer, never at install or run time (no CDN, no build step).
set -euo pipefail
cd "$(dirname "$0")/.."

WAVESURFER_VERSION="${WAVESURFER_VERSION:-7.12.12}"
dest=django_voxtral/static/django_voxtral/vendor/wavesurfer
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "wavesurfer.js@$WAVESURFER_VERSION" >/dev/null && tar xzf wavesurfer.js-*.tgz)
mkdir -p "$dest"
cp "$tmp/package/dist/wavesurfer.min.js" "$tmp/package/LICENSE" "$dest/"
printf 'wavesurfer.js %s from the npm registry (BSD-3-Clause, see LICENSE)\n' "$WAVESURFER_VERSION" > "$dest/VERSION"
echo "wavesurfer.js $WAVESURFER_VERSION vendored in $dest"
