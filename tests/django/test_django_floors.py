"""The house's layers contract (pyproject.toml) puts every module of django_voxtral on a floor.

Reads the contract and the package's files only; never imports a module of floor 3 or Django.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "django_voxtral"


def house_layers() -> list[set[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (house,) = [contract for contract in contracts if contract["type"] == "layers"]
    return [{name.strip() for name in re.split(r"[|:]", layer)} for layer in house["layers"]]


def test_every_module_of_floor_3_is_in_its_layer() -> None:
    children = {
        f"django_voxtral.{path.stem if path.is_file() else path.name}"
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    floor_3 = house_layers()[0]
    assert children - {"django_voxtral.speech"} == floor_3


def test_every_module_of_the_speech_package_is_on_floor_1_or_2() -> None:
    children = {
        f"django_voxtral.speech.{path.stem if path.is_file() else path.name}"
        for path in (PACKAGE / "speech").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    listed = set().union(*house_layers()[1:])
    assert children <= listed
    assert listed - children == {"ffmpeg_bridge"}
