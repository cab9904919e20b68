"""Loading a user's domain file or module and binding it to a store."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType

from workbench.core import _protean_alias
from workbench.core.domain import Domain, loading_domain_file
from workbench.core.exceptions import (
    ConfigurationError,
    DomainLoadError,
    IncorrectUsageError,
    NotSupportedError,
    ProteanException,
)
from workbench.core.store import Store


def load_domain(spec: str, *, store: Store | None = None) -> Domain:
    """Import a domain and return its initialised :class:`Domain`.

    Args:
        spec: a file path (``samples/shop/domain.py``, optionally ``:attr``) or a
            module path (``shop.domain`` or ``shop.domain:domain``).
        store: the store to bind once loaded. Code the file runs at import (saving,
            asserting) ran against a throwaway in-memory store, so loading a file for
            every command never writes its module-level effects twice.

    Raises:
        DomainLoadError: missing file, syntax or import error, no Domain, or several.
    """
    target, _, attr = spec.partition(":") if not _is_windows_drive(spec) else (spec, "", "")
    _protean_alias.install()
    token = loading_domain_file.set(True)
    try:
        module = _import(target)
    finally:
        loading_domain_file.reset(token)
    domain = _find_domain(module, target, attr or None)
    try:
        domain.init()
    except ProteanException as exc:
        raise DomainLoadError(f"{target}: {exc}") from exc
    domain._throwaway = False
    if store is not None:
        domain.bind_store(store)
    return domain


def _is_windows_drive(spec: str) -> bool:
    return len(spec) > 2 and spec[1] == ":" and spec[2] in "\\/"


def _import(target: str) -> ModuleType:
    path = Path(target)
    if target.endswith(".py") or path.exists() or "/" in target:
        if not path.is_file():
            raise DomainLoadError(f"domain file {target} does not exist")
        return _import_file(path.resolve())
    try:
        if target in sys.modules:
            return importlib.reload(sys.modules[target])
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name and target.startswith(exc.name):
            raise DomainLoadError(f"domain module {target} was not found") from None
        raise _user_error(target, exc) from exc
    except SyntaxError as exc:
        raise _syntax_error(exc) from None
    except Exception as exc:
        raise _user_error(target, exc) from exc


def _import_file(path: Path) -> ModuleType:
    name = path.stem
    folder = str(path.parent)
    if folder not in sys.path:
        # Sibling modules of the domain file import as they would under `python file.py`.
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        _restore(name, previous)
        raise _syntax_error(exc) from None
    except BaseException as exc:
        _restore(name, previous)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise _user_error(str(path), exc) from exc
    return module


def _restore(name: str, previous: ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous


def _syntax_error(exc: SyntaxError) -> DomainLoadError:
    return DomainLoadError(f"syntax error in {exc.filename}:{exc.lineno}: {exc.msg}")


def _user_error(target: str, exc: BaseException) -> DomainLoadError:
    """An error raised by the user's code, with their frames only (ours trimmed)."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if "importlib" not in f.filename and not f.filename.startswith(str(Path(__file__).parent))
    ]
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    error = DomainLoadError(f"the domain {target} failed to load{where}: {type(exc).__name__}: {exc}")
    if isinstance(exc, (NotSupportedError, IncorrectUsageError, ConfigurationError)):
        # The engine's own checks at decoration: the one line names the class, the problem
        # and the user's line; the frames would repeat it.
        return error
    error.details = "".join(traceback.format_list(frames)) + f"{type(exc).__name__}: {exc}\n"  # type: ignore[attr-defined]
    return error


def _find_domain(module: ModuleType, target: str, attr: str | None) -> Domain:
    if attr is not None:
        found = getattr(module, attr, None)
        if not isinstance(found, Domain):
            raise DomainLoadError(f"{target} has no Domain named `{attr}`")
        return found
    domains = {name: value for name, value in vars(module).items() if isinstance(value, Domain)}
    if not domains:
        raise DomainLoadError(f"no Domain found in {target}; create one with `domain = Domain()`")
    unique = {id(d): n for n, d in domains.items()}
    if len(unique) > 1:
        names = ", ".join(sorted(unique.values()))
        raise DomainLoadError(
            f"several Domains in {target} ({names}); name one as {target}:{sorted(unique.values())[0]}"
        )
    return next(iter(domains.values()))
