"""Show ganlib's own source in a chapter, so the book displays the code it runs instead of a copy."""

from __future__ import annotations

import inspect
from collections.abc import Callable


def source(obj: Callable | type) -> str:
    """The source text of a ganlib function or class (docstring included)."""
    return inspect.getsource(obj)


def show_source(*objs: Callable | type):
    """Display the source of each object as a highlighted Python block (Markdown) in Jupyter."""
    from IPython.display import Markdown

    blocks = [f"`{o.__module__}.{o.__qualname__}`\n```python\n{source(o).rstrip()}\n```" for o in objs]
    return Markdown("\n\n".join(blocks))
