"""Plugin registries: a name -> plugin table per kind (BSDF, texture, emitter, sensor, filter).

A new plugin is one module that builds its plugin object and one ``register`` call in its
kind's ``registry.py`` (or in user code: tests register toy plugins from outside the
package). Kernels and the loader reach plugins only through these tables.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._plugins: dict[str, T] = {}

    def register(self, plugin: T) -> T:
        self._plugins[plugin.name] = plugin
        return plugin

    def unregister(self, name: str) -> None:
        self._plugins.pop(name, None)

    def __contains__(self, name: str) -> bool:
        return name in self._plugins

    def __getitem__(self, name: str) -> T:
        return self._plugins[name]

    def names(self) -> tuple[str, ...]:
        return tuple(self._plugins)

    def index(self, name: str) -> int:
        """Registration order, which fixes the order plugins appear in kernel dispatch."""
        return list(self._plugins).index(name)
