"""One registry type for every extension point (tasks, losses, metrics, study samplers), in the style of BasicSR's
``Registry``: register by call or as a decorator, one rule for names, one rule for replacing an entry, "choose
from" errors and a documentation table generated from the entries.

Rules:

* a name is a lower-case identifier (``[a-z][a-z0-9_]*``), so it reads the same in a loss spec, a YAML file and
  on the command line;
* a name that is taken is refused unless ``replace=True``; the built-in entries (those the package registers
  itself) are never replaced;
* replacing an entry calls every ``on_replace`` hook with its name, so a cache of what the old entry built is
  cleared.

Example:
    >>> reg = Registry("widget")
    >>> @reg.register("round")
    ... def round_widget():
    ...     return "o"
    >>> reg.lookup("round")()
    'o'
    >>> reg.lookup("square")
    Traceback (most recent call last):
    ...
    mdfloss.common.errors.InvalidInputError: widget: unknown name 'square'; choose from round
"""

from __future__ import annotations

import re
from typing import Any, Callable, Generic, Iterator, TypeVar

from mdfloss.common.errors import InvalidInputError

T = TypeVar("T")
NAME_RULE = re.compile(r"[a-z][a-z0-9_]*")


class Registry(Generic[T]):
    """Named entries of one kind, in the order they were registered.

    Args:
        kind: what the entries are, for messages ("loss", "task", ...).
        reserved: names that can never be registered (e.g. a keyword of the command line).
    """

    def __init__(self, kind: str, *, reserved: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._builtin: set[str] = set()
        self._reserved = set(reserved)
        self._hooks: list[Callable[[str], None]] = []

    # ----- registering ----------------------------------------------------------------------------------------
    def register(self, name: str, entry: T | None = None, *, replace: bool = False, builtin: bool = False) -> Any:
        """Register ``entry`` under ``name``; without ``entry``, a decorator that registers what it decorates.

        Raises:
            InvalidInputError: a name that breaks the rule, is reserved or built in, or is taken without
                ``replace=True``.
        """
        if not isinstance(name, str) or not NAME_RULE.fullmatch(name) or name in self._reserved:
            reserved = f" other than {', '.join(sorted(self._reserved))}" if self._reserved else ""
            raise InvalidInputError(f"name: expected a {self.kind} name of lower-case letters, digits and '_', "
                                    f"starting with a letter{reserved}; got {name!r}")
        if entry is None:
            def decorate(obj: T) -> T:
                self.register(name, obj, replace=replace, builtin=builtin)
                return obj
            return decorate
        if name in self._builtin:
            raise InvalidInputError(f"name: {name!r} is a built-in {self.kind}; choose another name")
        if name in self._entries and not replace:
            raise InvalidInputError(f"name: a {self.kind} called {name!r} is registered already; choose another "
                                    "name, or pass replace=True to replace it")
        replaced = name in self._entries
        self._entries[name] = entry
        if builtin:
            self._builtin.add(name)
        if replaced:
            for hook in self._hooks:
                hook(name)
        return entry

    def on_replace(self, hook: Callable[[str], None]) -> None:
        """Call ``hook(name)`` whenever an entry is replaced (to clear what was built from the old one)."""
        self._hooks.append(hook)

    def unregister(self, name: str) -> None:
        """Remove an entry that is not built in (tests and examples clean up with it)."""
        if name in self._builtin:
            raise InvalidInputError(f"name: {name!r} is a built-in {self.kind} and stays")
        self._entries.pop(name, None)
        for hook in self._hooks:
            hook(name)

    # ----- reading --------------------------------------------------------------------------------------------
    def lookup(self, name: str) -> T:
        """The entry ``name``, or one line naming the choices."""
        if name not in self._entries:
            raise InvalidInputError(f"{self.kind}: unknown name {name!r}; choose from {', '.join(self._entries)}")
        return self._entries[name]

    def get(self, name: str, default: Any = None) -> Any:
        """The entry ``name``, or ``default`` (as a dict's ``get``)."""
        return self._entries.get(name, default)

    def builtin(self) -> tuple[str, ...]:
        """The names the package registers itself, in order."""
        return tuple(n for n in self._entries if n in self._builtin)

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def items(self):
        return self._entries.items()

    def values(self):
        return self._entries.values()

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __delitem__(self, name: str) -> None:
        self.unregister(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def table(self, describe: Callable[[str, T], tuple[str, str]]) -> str:
        """The entries as a reStructuredText table: ``describe(name, entry) -> (usage, what)`` per row."""
        rows = [describe(n, e) for n, e in self._entries.items()]
        width = max(len(f"``{u}``") for u, _ in rows)
        rule = "=" * width + "  " + "=" * 60
        return "\n".join([rule, *(f"{f'``{u}``':<{width}}  {w}" for u, w in rows), rule])
