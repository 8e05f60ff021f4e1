"""A local Sphinx extension (named in _config.yml): fixes to the built pages that the configuration
cannot make.

Inline scripts registered while documents are read (sphinx-thebe's settings, sphinx-togglebutton's)
reach a page twice with Sphinx 7.4; thebe's ``const`` declarations then fail the second time with a
script error on every page. Each page keeps one copy of each script, in its first position.
"""

from __future__ import annotations


def _script_key(script) -> tuple:
    """A script's identity: its file name (empty for inline ones, registered as None or "") and its
    attributes, the body included."""
    attributes = getattr(script, "attributes", {})
    return str(getattr(script, "filename", script) or ""), tuple(sorted((k, str(v)) for k, v in attributes.items()))


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    seen: set = set()
    unique = []
    for script in context.get("script_files", []):
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app) -> dict:
    app.connect("html-page-context", dedupe_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
