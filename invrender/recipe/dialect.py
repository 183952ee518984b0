"""The YAML dialect of recipes and ``--set`` values: PyYAML's safe loader, with YAML 1.2
floats."""

from __future__ import annotations

import re

import yaml


# YAML 1.1 (PyYAML) reads `1e-8` as a string; accept YAML 1.2 floats without a dot too.
class Loader(yaml.SafeLoader):
    pass


Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)
