"""Mutation testing of the modules that hold retain's promises (`make mutate`).

    .venv/bin/python bench/mutate.py [--module features/labels.py ...] [--max-minutes 90]

Why a script of our own and not mutmut or cosmic-ray: the run must be restricted to comparison,
boundary-constant and boolean operators. mutmut 3.8.1 has no operator selection (its settings
choose files and functions, `paths_to_mutate`/`do_not_mutate`/`only_mutate`; the operator list
is fixed in `mutmut/mutation/mutators.py`), and its trampolines run inside the pytest process,
which the kill-a-writer and server tests leave through subprocesses. This script applies exactly
these mutations, one at a time, with Python's `ast`:

- comparisons: `<` <-> `<=`, `>` <-> `>=`, `==` <-> `!=`, `is` <-> `is not`, `in` <-> `not in`;
- boolean operators: `and` <-> `or`, `&` <-> `|` (Ibis and numpy's logical and/or), a `not` /
  `~` dropped, `True` <-> `False`;
- boundary constants: every integer literal + 1 and - 1 (day counts, offsets, slice bounds).

Each module is mutated in a temporary copy of the repository (the tracked and untracked,
non-ignored files; never the checkout itself), and only that module's tests run against each
mutant (`MODULES` below), with a timeout of 3x the unmutated run (a mutant that hangs counts as
killed: the tests noticed). Prints the kill rate per module and every survivor as
`file:line  mutation`; `--json PATH` writes the same. Exit status 0 whatever the score: the
figure is a measurement, not a gate.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Module -> the tests that exercise it (run with -x: the first failure kills the mutant).
MODULES: dict[str, tuple[str, ...]] = {
    "features/windows.py": (
        "tests/features/test_windows.py",
        "tests/features/test_windows_edges.py",
        "tests/features/test_point_in_time_boundaries.py",
        "tests/features/test_usage.py",
        "tests/features/test_support.py",
    ),
    "features/labels.py": (
        "tests/features/test_labels.py",
        "tests/features/test_label_boundaries.py",
    ),
    "evaluation/_origins.py": (
        "tests/evaluation/test_origins.py",
        "tests/evaluation/test_origins_edges.py",
    ),
    "evaluation/_folds.py": (
        "tests/evaluation/test_folds.py",
        "tests/evaluation/test_folds_edges.py",
    ),
    "training/_split.py": (
        "tests/training/test_time_split_edges.py",
        "tests/training/test_split.py",
        "tests/training/test_out_of_time.py",
        "tests/evaluation/test_band_rows.py",
    ),
    "training/calibration.py": (
        "tests/training/test_calibration.py",
        "tests/training/test_calibration_edges.py",
        "tests/training/test_out_of_time.py",
    ),
    "training/bands.py": (
        "tests/training/test_bands.py",
        "tests/training/test_bands_edges.py",
        "tests/training/test_out_of_time.py",
        "tests/evaluation/test_band_rows.py",
    ),
    "serving/reasons.py": (
        "tests/serving/test_reasons.py",
        "tests/serving/test_expansion_reasons.py",
        "tests/serving/test_reasons_edges.py",
    ),
    "serving/auth.py": ("tests/serving/test_auth.py", "tests/serving/test_auth_edges.py"),
    "retain/files.py": (
        "tests/retain/test_files.py",
        "tests/retain/test_files_kill.py",
        "tests/serving/test_store_kill.py",
    ),
}

_COMPARE_SWAP: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_SYMBOL = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.And: "and",
    ast.Or: "or",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.Not: "not",
    ast.Invert: "~",
}


@dataclass(frozen=True)
class Mutation:
    index: int  # position among the module's mutation points (walk order)
    line: int
    kind: str  # "compare" | "boolean" | "constant"
    description: str


@dataclass
class Outcome:
    module: str
    line: int
    kind: str
    description: str
    status: str  # "killed" | "survived" | "timeout" | "error"


def _skipped_nodes(tree: ast.Module) -> set[int]:
    """ids of nodes never mutated: annotations, docstrings, `if TYPE_CHECKING:` blocks."""
    skipped: set[int] = set()

    def skip(node: ast.AST | None) -> None:
        if node is not None:
            skipped.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.AnnAssign):
            skip(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            skip(node.returns)
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip(node)
    return skipped


def _points(tree: ast.Module) -> Iterator[tuple[ast.AST, str, object]]:
    """(node, kind, detail) for each mutation, in a walk order that a re-parse repeats."""
    skipped = _skipped_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Compare):
            for j, op in enumerate(node.ops):
                if type(op) in _COMPARE_SWAP:
                    yield node, "compare", j
        elif isinstance(node, ast.BoolOp) or (
            isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd | ast.BitOr)
        ):
            yield node, "boolean", "swap"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert):
            yield node, "boolean", "drop"
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            yield node, "boolean", "flip"
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            yield node, "constant", +1
            yield node, "constant", -1


def _describe(node: ast.AST, kind: str, detail: object) -> str:
    if kind == "compare":
        op = node.ops[detail]  # type: ignore[attr-defined]
        return f"{_SYMBOL[type(op)]} -> {_SYMBOL[_COMPARE_SWAP[type(op)]]}"
    if isinstance(node, ast.BoolOp):
        return "and -> or" if isinstance(node.op, ast.And) else "or -> and"
    if isinstance(node, ast.BinOp):
        return "& -> |" if isinstance(node.op, ast.BitAnd) else "| -> &"
    if isinstance(node, ast.UnaryOp):
        return f"{_SYMBOL[type(node.op)]}x -> x"
    value = node.value  # type: ignore[attr-defined]
    if kind == "boolean":
        return f"{value} -> {not value}"
    return f"{value} -> {value + detail}"


def mutations(source: str) -> list[Mutation]:
    tree = ast.parse(source)
    return [
        Mutation(i, node.lineno, kind, _describe(node, kind, detail))  # type: ignore[attr-defined]
        for i, (node, kind, detail) in enumerate(_points(tree))
    ]


class _Apply(ast.NodeTransformer):
    def __init__(self, target: ast.AST, kind: str, detail: object) -> None:
        self.target, self.kind, self.detail = target, kind, detail

    def visit(self, node: ast.AST) -> ast.AST:
        if node is not self.target:
            return self.generic_visit(node)
        if self.kind == "compare":
            ops = list(node.ops)  # type: ignore[attr-defined]
            ops[self.detail] = _COMPARE_SWAP[type(ops[self.detail])]()  # type: ignore[index]
            node.ops = ops  # type: ignore[attr-defined]
        elif isinstance(node, ast.BoolOp):
            node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        elif isinstance(node, ast.BinOp):
            node.op = ast.BitOr() if isinstance(node.op, ast.BitAnd) else ast.BitAnd()
        elif isinstance(node, ast.UnaryOp):
            return node.operand
        elif self.kind == "boolean":
            node.value = not node.value  # type: ignore[attr-defined]
        else:
            node.value = node.value + self.detail  # type: ignore[attr-defined, operator]
        return node


def mutated_source(source: str, index: int) -> str:
    tree = ast.parse(source)
    node, kind, detail = list(_points(tree))[index]
    new = _Apply(node, kind, detail).visit(tree)
    return ast.unparse(ast.fix_missing_locations(new))


# -- running -----------------------------------------------------------------------------------


def copy_repository(destination: Path) -> None:
    """The working tree's tracked and untracked non-ignored files (what a fresh clone plus the
    current edits holds), without .venv, data or outputs."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        relative = raw.decode()
        source = ROOT / relative
        if not source.is_file():
            continue  # deleted in the working tree
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def run_tests(copy_root: Path, tests: tuple[str, ...], timeout: float) -> tuple[str, float]:
    """("passed" | "failed" | "timeout", seconds) for `tests` in the copy."""
    env = {**os.environ, "PYTHONPATH": str(copy_root), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-n",
        "0",
        *tests,
    ]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=copy_root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - start
    status = "passed" if done.returncode == 0 else "failed"
    return status, time.perf_counter() - start


def _check_imports_the_copy(copy_root: Path, module: str) -> None:
    """The copy's modules must shadow the editable install of the checkout."""
    name = module.removesuffix(".py").replace("/", ".")
    found = subprocess.run(
        [sys.executable, "-c", f"import {name}; print({name}.__file__)"],
        cwd=copy_root,
        env={**os.environ, "PYTHONPATH": str(copy_root)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(copy_root.resolve()):
        raise SystemExit(f"{name} imports from {found}, not from the copy {copy_root}")


def mutate_module(
    module: str, tests: tuple[str, ...], deadline: float, lines: frozenset[int] = frozenset()
) -> list[Outcome]:
    with tempfile.TemporaryDirectory(prefix="retain-mutate-") as folder:
        copy_root = Path(folder)
        copy_repository(copy_root)
        _check_imports_the_copy(copy_root, module)
        missing = [t for t in tests if not (copy_root / t).is_file()]
        if missing:
            print(f"{module}: not in this checkout, skipped: {', '.join(missing)}", flush=True)
        tests = tuple(t for t in tests if t not in missing)
        path = copy_root / module
        original = path.read_text()
        # The baseline runs the unparsed, unmutated module: it must pass as it is.
        path.write_text(ast.unparse(ast.parse(original)))
        status, seconds = run_tests(copy_root, tests, timeout=1800)
        if status != "passed":
            raise SystemExit(f"{module}: its tests fail before any mutation ({status})")
        timeout = max(3 * seconds, seconds + 30)
        found = [m for m in mutations(original) if not lines or m.line in lines]
        print(f"{module}: {len(found)} mutants, unmutated tests {seconds:.0f} s", flush=True)
        outcomes = []
        for mutation in found:
            if time.monotonic() > deadline:
                print(f"  time cap reached: {len(found) - len(outcomes)} mutants not run")
                break
            path.write_text(mutated_source(original, mutation.index))
            status, _ = run_tests(copy_root, tests, timeout)
            verdict = {"passed": "survived", "failed": "killed", "timeout": "timeout"}[status]
            outcomes.append(
                Outcome(module, mutation.line, mutation.kind, mutation.description, verdict)
            )
            if verdict == "survived":
                print(f"  survived {module}:{mutation.line}  {mutation.description}", flush=True)
        path.write_text(original)
        return outcomes


def summary(outcomes: list[Outcome]) -> dict[str, dict[str, object]]:
    table: dict[str, dict[str, object]] = {}
    for module in dict.fromkeys(o.module for o in outcomes):
        mine = [o for o in outcomes if o.module == module]
        killed = sum(o.status in ("killed", "timeout") for o in mine)
        table[module] = {
            "mutants": len(mine),
            "killed": killed,
            "kill_rate": killed / len(mine) if mine else float("nan"),
            "survivors": [
                f"{o.module}:{o.line}  {o.description}" for o in mine if o.status == "survived"
            ],
        }
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES), default=None)
    parser.add_argument("--max-minutes", type=float, default=90.0, help="time cap of the run")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--json", type=Path, default=None, help="write outcomes here")
    parser.add_argument(
        "--lines",
        default="",
        help="only the mutants on these lines (comma-separated): rerun a module's survivors",
    )
    args = parser.parse_args(argv)
    modules = args.module or list(MODULES)
    if args.list:
        for module in modules:
            for m in mutations((ROOT / module).read_text()):
                print(f"{module}:{m.line}  {m.kind}  {m.description}")
        return 0
    deadline = time.monotonic() + 60 * args.max_minutes
    outcomes: list[Outcome] = []
    for module in modules:
        if time.monotonic() > deadline:
            print(f"{module}: not run (time cap)")
            continue
        lines = frozenset(int(n) for n in args.lines.split(",") if n.strip())
        outcomes += mutate_module(module, MODULES[module], deadline, lines)
    table = summary(outcomes)
    print("\nmodule                      mutants  killed  kill rate")
    for module, row in table.items():
        print(f"{module:<28}{row['mutants']:>7}{row['killed']:>8}{row['kill_rate']:>10.0%}")
    for row in table.values():
        for survivor in row["survivors"]:  # type: ignore[union-attr]
            print(f"survivor  {survivor}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"summary": table, "outcomes": [asdict(o) for o in outcomes]}
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
