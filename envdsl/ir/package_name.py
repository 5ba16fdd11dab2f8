"""The Python package name of a domain: `generated/<package>/`, imported as `generated.<package>`.

A domain may be named with any identifier the language takes, Python keywords included (`domain class`
is a valid spec), but `import generated.class` is a syntax error. So a keyword, and every keyword
followed by underscores, gets one more underscore: class -> class_, class_ -> class__, ... Every other
name is its own package name. The map is injective (two domains never share a package, so E0604 on
equal domain names still covers package clashes) and its results are never keywords."""

from __future__ import annotations

import keyword


def package_name(domain: str) -> str:
    if keyword.iskeyword(domain.rstrip("_")):
        return domain + "_"
    return domain


__all__ = ["package_name"]
