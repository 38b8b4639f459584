"""Sphinx configuration of the itsmcore documentation (Markdown pages through MyST).

Build with ``bash docs/build`` or ``tox -e docs``; both fail on any warning and on any
broken reference (``-W --keep-going -n``). The reference pages are generated from the
code by ``_ext/itsm_reference.py``: the hook reference from the docstrings of
:mod:`itsmcore.hookspecs`, the config reference from the attrs settings classes of the
core and of every installed plugin.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))
# Use the source tree when it is not installed (it normally is: tox installs it).
sys.path.insert(1, str(HERE.parent / "src"))

import itsmcore  # noqa: E402

project = "itsmcore"
author = "itsmcore developers"
copyright = "itsmcore developers"
release = itsmcore.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "itsm_reference",
    "itsm_api_reference",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "build", "README.md", ".venv"]
templates_path: list[str] = []

myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_heading_anchors = 3

html_theme = "alabaster"
html_static_path = ["_static"]
html_title = f"itsmcore {release}"
html_theme_options = {"description": "IT service management around the customer's experience"}

# Autodoc documents the public API the hook reference points at. Type hints stay out of
# signatures: most name stdlib and third-party types we do not document.
autodoc_typehints = "none"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}

# -n (nitpicky) reports every reference that does not resolve. These name types from
# the standard library and third parties, which this offline build does not link to.
nitpicky = True
nitpick_ignore_regex = [
    ("py:class", r"(collections\.abc|typing|datetime|pathlib|enum|os)\..*"),
    ("py:class", r"(Iterable|Iterator|Mapping|Sequence|Callable|Any|Path|datetime|timedelta)"),
    ("py:class", r"(click|pluggy|sqlalchemy)\..*"),
    ("py:class", r"(str|int|float|bool|bytes|None|type|object)"),
]
