"""Name conversions shared by the domain model (class names to categories and types)."""

from __future__ import annotations

import difflib
import re
import unicodedata

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def underscore(name: str) -> str:
    """``OrderShipped`` -> ``order_shipped``; ``HTTPRequest`` -> ``http_request``."""
    return _CAMEL_BOUNDARY.sub("_", name).replace("-", "_").lower()


def normalized_name(name: str) -> str:
    """A domain name as used in qualified categories: ``"My Shop 2"`` -> ``"my_shop_2"``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^0-9a-zA-Z]+", "_", underscore(ascii_name)).strip("_") or "domain"


def camel_case_name(name: str) -> str:
    """A domain name as used in type strings: ``"my-shop 2"`` -> ``"MyShop2"``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    parts = re.split(r"[^0-9a-zA-Z]+", ascii_name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p) or "Domain"


def suggestion(name: str, candidates: list[str], *, known: str, most: int = 1, cutoff: float = 0.6) -> str:
    """The tail of an error about an unknown ``name``: close matches, else what is known.

    ``"; did you mean A or B?"`` when some candidates look alike, otherwise ``known``.
    """
    close = difflib.get_close_matches(name, candidates, n=most, cutoff=cutoff)
    return f"; did you mean {' or '.join(close)}?" if close else known
