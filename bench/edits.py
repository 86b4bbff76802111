"""Benchmark: editing an hour's transcript (editing.py through transcripts.py), on SQLite and
PostgreSQL: the time of each kind of edit, and the bytes each revision keeps.

Only ever a fresh database it made (bench/serve.py's fresh_database), in a child process with the
test settings; never an existing database, never the network beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .serve import ROOT, fresh_database

RUNS = 5
SEGMENTS = 600  # an hour of speech: a segment every 6 s
WORDS = 15  # ... of 15 timed words (9,000 words: some 150 a minute)

#: Runs in the child process: makes the transcript, times the edits, prints the figures as JSON.
SCRIPT = f"""
import json, statistics, time
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from django.db import connection
from django_voxtral import editing, search, transcripts
from django_voxtral.models import Revision, Segment, Transcript

user = get_user_model().objects.create_user("bench")
vocabulary = (
    "four score and seven years ago our fathers brought forth on this continent a new".split()
)
t = Transcript.objects.create(
    owner=user, media_name="hour.mp4", status="done", detected_language="en",
    duration={SEGMENTS} * 6.0, text="",
)
rows = []
for s in range({SEGMENTS}):
    start = s * 6.0
    words = [
        {{"start": round(start + 0.35 * w, 3), "end": round(start + 0.35 * w + 0.3, 3),
          "text": vocabulary[(s + w) % len(vocabulary)], "speaker": f"speaker_{{s % 2}}"}}
        for w in range({WORDS})
    ]
    rows.append(Segment(transcript=t, index=s, start=start, end=start + 5.5,
                        text=" ".join(w["text"] for w in words), speaker=f"speaker_{{s % 2}}",
                        words=words))
Segment.objects.bulk_create(rows)
t.text = " ".join(r.text for r in rows)
t.save()

def timed(work):
    began = time.perf_counter()
    work()
    return (time.perf_counter() - began) * 1000

figures = {{}}
figures["first_edit_ms"] = timed(
    lambda: transcripts.edit_segment(t, 300, text="four score and twenty years", author=user)
)
edits, splits, merges, renames, replaces, restores = [], [], [], [], [], []
for run in range({RUNS}):
    edits.append(timed(lambda: transcripts.edit_segment(
        t, 10 + run, text=f"a corrected sentence number {{run}} here", author=user)))
    found_after_edit = [h.index for h in search.search(user, "corrected")] == [10 + run]
    splits.append(timed(lambda: transcripts.split_segment(t, 20, at=122.0, author=user)))
    merges.append(timed(lambda: transcripts.merge_segments(t, 20, author=user)))
    # Each run ends by restoring revision 0: the next starts from the machine's transcript.
    renames.append(timed(lambda: transcripts.rename_speaker(t, "speaker_0", "Alice", author=user)))
    replaces.append(timed(lambda: transcripts.replace_text(
        t, "score", "points", match_case=False, author=user)))
    restores.append(timed(lambda: transcripts.restore_revision(t, 0, author=user)))
for name, values in [("edit_ms", edits), ("split_ms", splits), ("merge_ms", merges),
                     ("rename_ms", renames), ("replace_ms", replaces), ("restore_ms", restores)]:
    figures[name] = statistics.median(values)

def compact(value):
    return len(json.dumps(value, separators=(",", ":")))

# What each revision keeps (compact JSON as stored), by kind: of the segments (revision 0's
# segments or a later one's delta, and its text if it keeps one), and its changes.
kept, noted = {{}}, {{}}
for summary, segments, delta, changes, text in Revision.objects.filter(transcript=t).values_list(
    "summary", "segments", "delta", "changes", "text"
):
    kind = summary.split()[0]
    kept.setdefault(kind, []).append(compact(segments) + compact(delta) + len(text or ""))
    noted.setdefault(kind, []).append(compact(changes))
figures["kept_bytes"] = {{kind: int(statistics.median(sizes)) for kind, sizes in kept.items()}}
figures["changes_bytes"] = {{kind: int(statistics.median(sizes)) for kind, sizes in noted.items()}}
figures["history_bytes"] = sum(map(sum, kept.values())) + sum(map(sum, noted.values()))
original = Revision.objects.get(transcript=t, number=0)
figures["revisions"] = Revision.objects.filter(transcript=t).count()
figures["words"] = sum(len(s["words"]) for s in original.segments)
newest = figures["revisions"] - 1
figures["read_first_ms"] = statistics.median(
    timed(lambda: editing.state_at(t, 1)) for _ in range({RUNS})
)
figures["read_newest_ms"] = statistics.median(
    timed(lambda: editing.state_at(t, newest)) for _ in range({RUNS})
)
# Found right after its edit, and gone once revision 0 was restored.
figures["search_follows"] = found_after_edit and not search.search(user, "corrected")
figures["vendor"] = connection.vendor
print("FIGURES " + json.dumps(figures))
"""


@dataclass(frozen=True)
class EditFigures:
    database: str
    first_edit_ms: float
    edit_ms: float
    split_ms: float
    merge_ms: float
    rename_ms: float
    replace_ms: float
    restore_ms: float
    #: Bytes each kind of revision keeps, median, by the first word of its summary ("The" is
    #: revision 0, the machine's transcript; "Edited" a segment's text, ...).
    kept_bytes: dict[str, int]
    #: The bytes of their ``changes`` (the history's "what changed"), likewise.
    changes_bytes: dict[str, int]
    history_bytes: int
    read_first_ms: float
    read_newest_ms: float
    revisions: int
    words: int
    search_follows: bool


def measure(kind: str) -> EditFigures:
    """The figures of one database kind ("sqlite" or "postgresql"), in a fresh database."""
    with tempfile.TemporaryDirectory() as folder, fresh_database(kind, Path(folder)) as url:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.django_settings",
            "DATABASE_URL": url,
            "PYTHONPATH": str(ROOT),
        }
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"the editing benchmark failed on {kind}:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("FIGURES "))
    data: dict[str, Any] = json.loads(line.removeprefix("FIGURES "))
    data.pop("vendor")
    return EditFigures(database=kind, **data)


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


#: The kinds of revision by the first word of their summary, as the report names them.
KINDS = {
    "The": "revision 0",
    "Edited": "a segment's text",
    "Split": "split",
    "Merged": "merge",
    "Renamed": "rename",
    "Replaced": "replace",
    "Restored": "restore",
}


def report(figures: list[EditFigures]) -> list[str]:
    first = figures[0]
    lines = [
        "## Editing an hour's transcript",
        "",
        f"A done transcript of {SEGMENTS} segments of {WORDS} timed words each "
        f"({first.words:,} words, an hour of speech at 150 words a minute), edited through "
        "`django_voxtral.transcripts` (the rules of `editing.py`) in a fresh database with "
        "the test settings: the first edit (which also keeps the machine's transcript as "
        f"revision 0), then {RUNS} of each kind, median: a segment's text, a split and the "
        "merge back (the indexes after it move), a speaker renamed (half the segments), a "
        f"word replaced in every segment ({SEGMENTS} places), revision 0 restored (every "
        "segment differs by then: the replace touched them all). Each is one transaction that "
        "writes the rows it changes and a revision of what it changed (revision 0 keeps every "
        "segment). The search index follows through the database's triggers, in the same "
        "transaction (search follows: the edited word is found right after its edit, and no "
        "longer once revision 0 is restored). Reading a revision (`editing.state_at`, median "
        f"of {RUNS}) replays the deltas up to it: revision 1 one, the newest "
        f"({first.revisions - 1}) every one before it.",
        "",
        "| database | first edit | a segment's text | split | merge | rename | replace | "
        "restore | read revision 1 | read the newest | revisions made | search follows |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        lines.append(
            f"| {f.database} | {_ms(f.first_edit_ms)} | {_ms(f.edit_ms)} | {_ms(f.split_ms)} | "
            f"{_ms(f.merge_ms)} | {_ms(f.rename_ms)} | {_ms(f.replace_ms)} | "
            f"{_ms(f.restore_ms)} | {_ms(f.read_first_ms)} | {_ms(f.read_newest_ms)} | "
            f"{f.revisions} | {'yes' if f.search_follows else 'no'} |"
        )
    same = all(
        (f.kept_bytes, f.changes_bytes) == (first.kept_bytes, first.changes_bytes) for f in figures
    )
    lines += [
        "",
        "Bytes each kind of revision keeps, median, compact JSON as stored "
        f"({'the same on every database' if same else 'of ' + first.database}): of the "
        "segments (revision 0: every one; a later one: its delta, and a text only when it "
        "is not the segments' texts joined) and its `changes` (the history's what changed).",
        "",
        "| revision | of the segments | changes |",
        "| --- | --- | --- |",
    ]
    for kind, name in KINDS.items():
        lines.append(
            f"| {name} | {first.kept_bytes.get(kind, 0):,} | {first.changes_bytes.get(kind, 0):,} |"
        )
    lines += [
        "",
        f"The whole history of these {first.revisions} revisions: {first.history_bytes:,} bytes.",
        "",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(report([measure("sqlite"), measure("postgresql")])))
