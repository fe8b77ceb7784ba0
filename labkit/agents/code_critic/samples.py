"""Generated sample code for the speed benchmark and the notebook (never imported, only reviewed)."""

from __future__ import annotations

__all__ = ["long_module"]

_BLOCK = '''

def handler_{i}(request, limit={limit}):
    """Handle request {i}: validate it, then total its items."""
    items = request.get("items", [])
    if len(items) > limit:
        raise ValueError("too many items")
    total = 0
    for item in items:
        price = item.get("price", 0)
        if price < 0:
            continue
        total += price * item.get("qty", 1)
    return {{"id": {i}, "total": total}}
'''


def long_module(lines: int = 300) -> str:
    """A plausible module of about ``lines`` lines with a few planted problems (eval, a mutable default)."""
    head = [
        '"""Generated handlers for the Code Critic speed benchmark."""',
        "",
        "",
        "def parse(expression):",
        "    return eval(expression)",
        "",
        "",
        "def remember(key, seen=[]):",
        "    seen.append(key)",
        "    return seen",
    ]
    text = "\n".join(head) + "\n"
    i = 0
    while text.count("\n") + 14 <= lines:
        text += _BLOCK.format(i=i, limit=10 + i)
        i += 1
    return text + "\n" * max(0, lines - text.count("\n"))
