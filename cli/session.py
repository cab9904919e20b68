"""One command's (or one REPL session's) view of the domain, the store and the output."""

from __future__ import annotations

import contextlib
import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_FILES = ("workbench.toml", "pyproject.toml")


def find_config(start: Path | None = None) -> tuple[dict[str, Any], Path | None]:
    """The nearest ``workbench.toml`` or ``pyproject.toml [tool.workbench]``, walking up."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        for name in CONFIG_FILES:
            path = candidate / name
            if not path.is_file():
                continue
            try:
                data = tomllib.loads(path.read_text())
            except (tomllib.TOMLDecodeError, OSError):
                continue
            table = data if name == "workbench.toml" else data.get("tool", {}).get("workbench")
            if table:
                return table, path.parent
    return {}, None


@dataclass
class Settings:
    """Where the domain and the store come from: option > environment > config file."""

    domain: str | None = None
    store: str | None = None
    source: str = ""

    @classmethod
    def resolve(cls, domain: str | None, store: str | None) -> Settings:
        """Merge the command line, ``WORKBENCH_DOMAIN``/``WORKBENCH_STORE`` and config files."""
        config, root = find_config()

        def from_config(key: str) -> str | None:
            value = config.get(key)
            if value is None or root is None:
                return None
            path = Path(value)
            # Paths in a config file are relative to the file; module names stay as they are.
            return str(root / path) if (root / path).exists() or "/" in value or value.endswith(".py") else value

        # An option given empty stays empty (Session.load reports it); an empty variable is unset.
        return cls(
            domain=domain if domain is not None else (os.environ.get("WORKBENCH_DOMAIN") or from_config("domain")),
            store=store if store is not None else (os.environ.get("WORKBENCH_STORE") or from_config("store")),
        )


@dataclass
class Session:
    """The loaded domain with its store and engine, shared by the commands of one process."""

    settings: Settings
    read_only: bool = True
    debug: bool = False
    deterministic: bool = False
    domain: Any = None
    _engine: Any = field(default=None, repr=False)

    def load(self, *, write: bool) -> Any:
        """Load the domain (once), opening the store for writing when asked."""
        from workbench.core.bootstrap import bootstrap

        if self.domain is not None and (not write or not self.read_only):
            # Other processes (`workbench run`, one-shot commands) commit between our commands.
            self.domain.store.refresh()
            return self.domain
        if not self.settings.domain:
            from workbench.core.exceptions import DomainLoadError

            raise DomainLoadError(
                "no domain given; pass --domain PATH, set WORKBENCH_DOMAIN, or add [tool.workbench] domain = ... "
                "to pyproject.toml"
            )
        if self.domain is not None:  # upgrade a read-only session to a writing one
            self.domain.close()
            self.domain = None
            self._engine = None
        store = self.settings.store
        if store is not None and not store.strip():
            from workbench.core.exceptions import IncorrectUsageError

            # An empty --store (an unset shell variable, say) must not quietly mean ./.workbench.
            raise IncorrectUsageError("the store path is empty; give a folder with --store (or leave it out)")
        # A domain file may print at import (the spec's example does); stdout is for data.
        with contextlib.redirect_stdout(sys.stderr):
            try:
                self.domain = bootstrap(self.settings.domain, store_location=store, read_only=not write)
            except OSError as exc:
                from workbench.core.exceptions import StoreError

                where = exc.filename or store or ".workbench"
                raise StoreError(f"cannot use the store at {where}: {exc.strerror or exc}") from exc
        self.read_only = not write
        config, _root = find_config()
        if config.get("broker") and not os.environ.get("WORKBENCH_BROKER"):
            self.domain.config["broker_url"] = str(config["broker"])  # a config file's `broker = "redis://..."`
        if self.deterministic:
            make_deterministic(self.domain)
        return self.domain

    @property
    def engine(self) -> Any:
        """The async engine over the loaded domain."""
        from workbench.core.engine import Engine

        if self._engine is None or self._engine.domain is not self.domain:
            from workbench.core.broker.feed import broker_feed_for

            self._engine = Engine(self.domain)
            self._engine.use_broker(broker_feed_for(self.domain))
        return self._engine

    def close(self) -> None:
        """Close the store (releasing its lock)."""
        if self.domain is not None:
            self.domain.close()
            self.domain = None
            self._engine = None


def make_deterministic(domain: Any) -> None:
    """Fixed ids and times for demos and golden tests.

    Ids and times derive from the store's commit count when the command starts plus a
    counter, so they repeat run after run yet never collide across commands.
    """
    import datetime as dt
    import itertools

    from workbench.core.clock import VirtualClock

    base = domain.store.commit_count()
    ids = itertools.count(1)
    epoch = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    domain.identity_function = lambda: f"{base:06d}-{next(ids):04d}"
    # A virtual clock: it moves only with `clock advance`, so retries are driven, not waited for.
    domain.clock = VirtualClock(epoch + dt.timedelta(seconds=base))
