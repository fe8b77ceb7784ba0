"""The learner's stub for a solution block: what the solution defines, with nothing filled in.

Each name the solution assigns becomes ``name = None``; each function keeps its
signature (and docstring) and raises NotImplementedError; imports stay, since they are
not the answer. ``labkit.check.exercise`` treats both stubs as "not answered yet".
"""

from __future__ import annotations

import ast
import copy
import textwrap

from labkit.exercises.markers import MarkerProblem, SolutionBlock

__all__ = ["stub_for", "stub_lines"]


def _store_names(node: ast.AST) -> list[str]:
    """Names bound by assignment anywhere in ``node``, outside nested function and class bodies."""
    found: list[str] = []

    def visit(n: ast.AST) -> None:
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            found.append(n.id)
        for child in ast.iter_child_nodes(n):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                visit(child)

    visit(node)
    return found


def _function_stub(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    body: list[ast.stmt] = []
    docstring = ast.get_docstring(node, clean=False)
    if docstring is not None:
        body.append(ast.Expr(ast.Constant(docstring)))
    message = f"exercise: write {node.name}"
    body.append(
        ast.Raise(exc=ast.Call(ast.Name("NotImplementedError", ast.Load()), [ast.Constant(message)], []))
    )
    # A shallow copy keeps every field of the definition (decorators, annotations and, on
    # Python 3.12+, type parameters) whatever the running version's AST has.
    stub = copy.copy(node)
    stub.body = body
    stub.type_comment = None
    ast.fix_missing_locations(stub)
    return ast.unparse(stub)


def stub_for(solution: str, first_line: int = 1) -> tuple[list[str], list[str]]:
    """(stub source lines, answer names) for a dedented solution; MarkerProblem if it does not parse."""
    try:
        tree = ast.parse(solution)
    except SyntaxError as exc:
        line = first_line + (exc.lineno or 1)
        raise MarkerProblem(line, f"the solution does not parse as Python: {exc.msg}") from None
    out: list[str] = []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            out.append(ast.unparse(node))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out.extend(_function_stub(node).splitlines())
            names.append(node.name)
        elif isinstance(node, ast.ClassDef):
            names.append(node.name)
            out.append(f"{node.name} = None  # your class here")
        else:
            for name in _store_names(node):
                if name not in names:
                    names.append(name)
                    out.append(f"{name} = None  # your answer here")
    if not out:
        out.append("# your code here (see the hint above)")
    return out, names


def stub_lines(block: SolutionBlock) -> list[str]:
    """The lines that replace ``block`` (markers, solution and hint) in the learner edition."""
    body, _names = stub_for(block.solution, block.begin + 1)
    hint = [f"# HINT: {line}" for line in textwrap.wrap(block.hint, 96)] or ["# HINT:"]
    return [block.indent + line if line else line for line in [*hint, *body]]
