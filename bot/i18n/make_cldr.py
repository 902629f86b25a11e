"""Write cldr.json: the CLDR data ``bot.i18n.cldr`` needs, taken from the installed Babel.

The bot never imports Babel at runtime (it loads each language's whole CLDR pickle, ~2.3 MB
per language); this script is the only code that does. Run it after adding a language to
``bot.i18n.LANGUAGES`` or upgrading Babel, and check in the result::

    python -m bot.i18n.make_cldr

tests/test_cldr.py fails while the checked-in file differs from what this script produces.
CLDR names change between Babel releases, so the file is tied to one: ``BABEL_VERSION``, the
version pinned in pyproject.toml's test extra and in requirements-test.lock. To move to a newer
Babel, bump all three, run this script and check in the result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from babel import Locale

from bot.i18n import LANGUAGES

__all__ = ["BABEL_VERSION", "OUTPUT", "build", "main", "render"]

OUTPUT = Path(__file__).with_name("cldr.json")
BABEL_VERSION = "2.18.0"  # the Babel that made cldr.json


def _number(locale: Locale) -> dict[str, Any]:
    """What ``babel.numbers.format_decimal(value, locale=...)`` uses: the default decimal
    pattern and the Latin-digit symbols (Babel's default numbering system)."""
    pattern = locale.decimal_formats[None]
    unsupported = (
        pattern.scale != 0
        or pattern.exp_prec is not None
        or "@" in pattern.pattern
        or pattern.int_prec[0] != 1
        or pattern.frac_prec[0] != 0
    )
    if unsupported:  # bot.i18n.cldr.format_decimal does not implement these
        raise ValueError(f"{locale}: unsupported decimal pattern {pattern.pattern!r}")
    symbols = locale.number_symbols["latn"]
    return {
        "decimal": symbols["decimal"],
        "group": symbols["group"],
        "grouping": list(pattern.grouping),
        "max_fraction_digits": pattern.frac_prec[1],
        "prefix": list(pattern.prefix),  # [positive, negative]
        "suffix": list(pattern.suffix),
    }


def _list_or(locale: Locale) -> dict[str, str]:
    """``babel.lists.format_list(style="or")`` patterns."""
    patterns = locale.list_patterns["or"]
    return {key: patterns[key] for key in ("start", "middle", "end", "2") if key in patterns}


def _language(language: str) -> dict[str, Any]:
    locale = Locale.parse(language)
    territories = locale.territories
    return {
        # For reference only: bot.i18n.cldr.plural_form hand-codes these rules, and the
        # tests compare it with Babel. A change here after a Babel upgrade means the code
        # needs a look.
        "plural_rules": dict(sorted(locale.plural_form.rules.items())),
        "number": _number(locale),
        "list_or": _list_or(locale),
        # What "MMM" gives in the pattern "d MMM y, HH:mm": abbreviated, format context.
        "months_abbreviated": [locale.months["format"]["abbreviated"][m] for m in range(1, 13)],
        # Every territory code (countries, regions such as "EU" and "150"), in Babel's order:
        # country search keeps the first name it meets, so the order matters.
        "territories": {code: territories[code] for code in territories},
    }


def build() -> dict[str, Any]:
    return {language: _language(language) for language in LANGUAGES}


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def main() -> None:
    import babel

    if babel.__version__ != BABEL_VERSION:
        raise SystemExit(
            f"Babel {babel.__version__} is installed but BABEL_VERSION is {BABEL_VERSION}:"
            " bump BABEL_VERSION and the pins together (see this module's docstring)"
        )
    OUTPUT.write_text(render(build()), encoding="utf-8")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
