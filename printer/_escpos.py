"""The one door to python-escpos, opened lazily and with its side effects undone.

python-escpos 3.1, on import, calls ``logging.basicConfig()`` (a stderr handler on the root
logger that the app never asked for), may ``print()`` to stdout, and pickles its printer
database into a fresh ``mkdtemp()`` directory on every start. Its backends call the module-level
``logging.info``/``logging.error`` functions, which call ``basicConfig()`` again whenever the root
logger has no handler. Any of that would corrupt a full-screen terminal app. So:

- nothing imports escpos at module level; :func:`escpos` imports it on first use;
- stdout is captured during the import and the root logger's handlers are restored after it;
- :func:`quiet` does the same around every call into a backend;
- the capabilities pickle goes to one per-user cache directory instead of a new temp dir.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

log = logging.getLogger("printer.escpos")
_lock = threading.Lock()
_modules: dict[str, ModuleType] = {}


@contextlib.contextmanager
def quiet(*, capture_stdout: bool = False) -> Iterator[None]:
    """Undo python-escpos' root-logger configuration; optionally swallow its prints.

    Capturing stdout swaps ``sys.stdout`` for the whole process, so it is only used around the
    import (which happens once, before any UI thread prints); at run time we avoid the
    escpos functions that print (``barcode()``, ``image(center=True)`` with an unknown width).
    """
    root = logging.getLogger()
    handlers = list(root.handlers)
    level = root.level
    out = io.StringIO()
    try:
        if capture_stdout:
            with contextlib.redirect_stdout(out):
                yield
        else:
            yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
        if out.getvalue():
            log.debug("python-escpos printed: %s", out.getvalue().strip())


def _cache_dir() -> str:
    from platformdirs import user_cache_dir

    path = os.path.join(user_cache_dir("loyalty-till"), "escpos")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def escpos(module: str = "escpos.escpos") -> ModuleType:
    """Import an escpos module (``escpos.printer``...) without its side effects."""
    with _lock:
        if module not in _modules:
            os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", _cache_dir())
            import importlib

            with quiet(capture_stdout=True):
                _modules[module] = importlib.import_module(module)
        return _modules[module]


def capabilities() -> dict[str, Any]:
    caps: dict[str, Any] = escpos("escpos.capabilities").CAPABILITIES
    return caps


@functools.cache
def encoder(model: str) -> Any:
    """python-escpos' code-page encoder for a model, built once, for :func:`can_encode` only."""
    pages = {
        name: int(slot) for slot, name in capabilities()["profiles"][model]["codePages"].items()
    }
    return escpos("escpos.magicencode").Encoder(pages)


def can_encode(model: str, ch: str) -> bool:
    """Whether any code page of the model holds ``ch`` (never changes the encoder's state)."""
    enc = encoder(model)
    return any(enc.can_encode(page, ch) for page in enc.codepages)


def dummy(profile: Any) -> Any:
    """A python-escpos ``Dummy`` printer for a :class:`PrinterProfile`; it records its bytes.

    Its escpos profile is a copy whose media width is our dot width, so ``image()`` refuses
    anything wider and never prints its "pixel field not set" notice to stdout.
    """
    caps = escpos("escpos.capabilities")
    with quiet():
        # A fresh encoder per receipt, as python-escpos does: its choice of code page depends
        # on the pages it used before, and the bytes of a receipt must not depend on history.
        printer = escpos("escpos.printer").Dummy(profile=profile.model)
    data = dict(printer.profile.profile_data)
    media = dict(data.get("media", {}))
    media["width"] = {"mm": profile.paper_mm, "pixels": profile.dots}
    media["dpi"] = 203 if media.get("dpi") in (None, "Unknown") else media["dpi"]
    data["media"] = media
    printer.profile = type("TillProfile", (caps.BaseProfile,), {"profile_data": data})()
    return printer
