"""How an exception is reported: a usage error, a bug in the user's code, or a workbench bug.

* **usage** (exit 2): the workbench's own errors about what was typed or configured
  (an unknown name, a bad value, a broken domain file, an unusable store), raised by
  workbench code before or without running user code.
* **user code** (exit 1): anything raised while the user's domain code was running (a
  method, a handler, a query) -- recognised by a frame of the traceback lying outside
  the workbench, the standard library and the workbench's own dependencies (a domain
  installed as a package counts as the user's). A ``KeyError`` there is
  the user's bug, never "an unknown name".
* **internal** (exit 70): anything else is a bug in the workbench; the line says so
  and suggests ``--debug`` for the traceback.
"""

from __future__ import annotations

import importlib.util
import sys
import sysconfig
import traceback
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from workbench.cli.exit_codes import ExitCode


@dataclass(frozen=True)
class Problem:
    """One error, classified and described in one line."""

    kind: str  # "usage" | "user" | "internal"
    message: str
    code: ExitCode

    @property
    def line(self) -> str:
        """The line printed on stderr (and put in the JSON envelope's ``errors``)."""
        return f"{'internal error' if self.kind == 'internal' else 'error'}: {self.message}"


DEPENDENCIES = ("typer", "click", "rich", "prompt_toolkit", "tinydb", "orjson", "pygments", "markdown_it")


@cache
def _library_roots() -> tuple[str, ...]:
    import workbench.cli
    import workbench.core

    import workbench

    roots = {
        str(Path(p).resolve().parent) for p in (workbench.__file__, workbench.cli.__file__, workbench.core.__file__)
    }
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib"):
        if paths.get(key):
            roots.add(str(Path(paths[key]).resolve()))
    # The workbench's own dependencies; other installed packages may be the user's domain.
    for name in DEPENDENCIES:
        spec = importlib.util.find_spec(name)
        for location in (spec.submodule_search_locations or []) if spec is not None else []:
            roots.add(str(Path(location).resolve()))
    return tuple(sorted(roots))


def _is_library_file(filename: str) -> bool:
    if filename.startswith("<frozen"):  # importlib's own frames
        return True
    try:
        resolved = str(Path(filename).resolve())
    except (OSError, ValueError):
        return False
    return any(resolved == root or resolved.startswith(root + "/") for root in _library_roots())


def raised_in_user_code(exc: BaseException) -> bool:
    """Whether a frame of ``exc``'s traceback is the user's code (not the workbench or a library)."""
    tb = exc.__traceback__
    while tb is not None:
        if not _is_library_file(tb.tb_frame.f_code.co_filename):
            return True
        tb = tb.tb_next
    return False


def describe_error(exc: BaseException) -> str:
    """The text of a workbench error, in words (no class names)."""
    from workbench.core.exceptions import ValidationError

    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{field}: {', '.join(messages)}" for field, messages in exc.messages.items())
        return f"invalid values: {problems}"
    return str(exc)


def _exception_text(exc: BaseException) -> str:
    # str(KeyError("lid")) is "'lid'": keep the repr so the key is recognisable as a key.
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def classify(exc: BaseException) -> Problem:
    """Classify ``exc`` (see the module docstring) and describe it in one line."""
    from workbench.core.exceptions import HandlerError, ProteanException

    if raised_in_user_code(exc):
        return Problem("user", _exception_text(exc), ExitCode.FAILURE)
    if isinstance(exc, HandlerError):  # a handler (user code) failed; the workbench wrapped it
        return Problem("user", describe_error(exc), ExitCode.FAILURE)
    if isinstance(exc, ProteanException):
        return Problem("usage", describe_error(exc), ExitCode.USAGE)
    return Problem(
        "internal",
        f"{_exception_text(exc)} (a bug in the workbench; rerun with --debug for the traceback)",
        ExitCode.INTERNAL,
    )


def print_traceback(exc: BaseException) -> None:
    """The full traceback on stderr (``--debug``)."""
    traceback.print_exception(exc, file=sys.stderr)
