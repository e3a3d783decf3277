"""Pacers by name: the built-in modes and user pacers given as ``module:factory``."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from dialerd.dialer.pacing import make_pacer
from dialerd.domain import DialMode
from dialerd.simulator.sim import PacerFactory, PacerSpec

DEFAULT_PACERS = ("progressive", "ratio", "predictive")


def parse_pacer(text: str) -> PacerSpec:
    """``progressive``, ``ratio`` or ``ratio:R`` (R lines per free agent), ``predictive``,
    or ``module:factory`` / ``path/to/file.py:factory`` for a user pacer (see the README)."""
    name, _, arg = text.partition(":")
    if name == "ratio" and (not arg or _is_number(arg)):
        ratio = float(arg) if arg else None
        return PacerSpec(text, make_pacer, DialMode.RATIO, ratio)
    if not arg:
        try:
            return PacerSpec(text, make_pacer, DialMode(name))
        except ValueError:
            raise ValueError(f"unknown pacer {text!r}: expected a mode or module:factory") from None
    return PacerSpec(text, _load_factory(name, arg), DialMode.PREDICTIVE)


def _load_factory(module_name: str, attribute: str) -> PacerFactory:
    if module_name.endswith(".py"):
        path = Path(module_name)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise ValueError(f"cannot load {module_name}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        # Like `python -m`: modules next to where the command runs are found.
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        module = importlib.import_module(module_name)
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ValueError(f"{module_name} has no callable {attribute!r}")
    return factory  # type: ignore[no-any-return]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
