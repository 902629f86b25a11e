"""The shape of the code: imports only point down the layers, no import cycles, modules small.

Layers, top to bottom (a module may import its own layer and the ones below, never above):

    entry     bot.__main__, bot.app, playground, …       start-up, wiring, operations commands
    handlers  handlers                                    what the bot says and does
    services  bot.orders, bot.catalog, bot.wallet, …     what the bot knows how to do
    edge      bot.listener, bot.telegram_limiter, …      the HTTP listener, the wire to Telegram
    clients   bot.pikasim, storage                       the reseller API and the database
    leaves    bot.i18n, bot.settings, bot.pricing, …     no project imports above them

The emulators (a Telegram Bot API server and the PikaSim sandbox) are not a layer of the bot:
only the entry layer (the embedded sandbox, the playground) and the tests use them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "storage", "emulators", "playground")
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "entry",
        (
            "bot.__main__",
            "bot.app",
            "bot.jobs",
            "bot.commands",
            "bot.doctor",
            "bot.migrate_db",
            "playground",
        ),
    ),
    ("handlers", ("handlers",)),
    (
        "services",
        (
            "bot.orders",
            "bot.catalog",
            "bot.wallet",
            "bot.alerts",
            "bot.esim_records",
            "bot.care",
            "bot.upkeep",
            "bot.broadcasts",
            "bot.customers",
            "bot.reach",
            "bot.phones",
            "bot.services",
        ),
    ),
    (
        "edge",
        (
            "bot.listener",
            "bot.asgi_server",
            "bot.http_limits",
            "bot.standby",
            "bot.in_process",
            "bot.telegram_webhook",
            "bot.telegram_limiter",
            "bot.metrics",
            "bot.backup",
        ),
    ),
    ("clients", ("bot.pikasim", "storage")),
    (
        "leaves",
        (
            "bot.i18n",
            "bot.settings",
            "bot.pricing",
            "bot.qr",
            "bot.esim_data",
            "bot.countries",
            "bot.logs",
            "bot.events",
            "bot.app_types",
            "bot.background_pace",
            "bot",  # the package itself
        ),
    ),
]
FAKES = ("emulators",)
MAX_LINES = 400
DATA_MODULES: set[str] = set()  # modules that are data, not code, may be longer


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> Iterator[str]:
    """Project modules imported at run time (``if TYPE_CHECKING:`` blocks are skipped)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(child) for child in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name:
                yield name


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _layer(module: str) -> int | None:
    """The layer's index (0 = entry), None for the emulators."""
    if any(_within(module, fake) for fake in FAKES):
        return None
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if _within(module, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[1]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_point_down(module: str) -> None:
    layer = _layer(module)
    for imported in _imports(MODULES[module]):
        target = _layer(imported)
        if layer is None:  # an emulator: it may use the bot's leaves and edge, never more
            assert target is None or target >= 3, f"{module} imports {imported}"
        elif target is None:
            assert layer == 0, f"{module} ({LAYERS[layer][0]}) imports the fake {imported}"
        else:
            assert target >= layer, (
                f"{module} ({LAYERS[layer][0]}) imports {imported} ({LAYERS[target][0]})"
            )


def test_there_are_no_import_cycles() -> None:
    graph = {module: set(_imports(path)) - {module} for module, path in MODULES.items()}
    state: dict[str, int] = {}  # 1 = on the path, 2 = done
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for imported in sorted(graph.get(module, ())):
            if _within(module, imported):  # a package importing itself while loading
                continue
            if state.get(imported) == 1:
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == [], "\n".join(" -> ".join(cycle) for cycle in cycles)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module: str) -> None:
    if module in DATA_MODULES:
        return
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines: split it along its jobs"
