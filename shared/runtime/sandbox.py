"""The Jinja2 sandbox every template is rendered in: administrators (notify's templates) and agents (the gateway's
macros) write templates, so none may run code.

``ImmutableSandboxedEnvironment`` refuses private and internal attributes (``__class__``, ``__globals__``,
``_TemplateReference__context``), calls of unsafe callables and in-place changes of lists, dicts and sets;
``range`` is capped at ``jinja2.sandbox.MAX_RANGE``. On top of that: the only globals are ``range`` and
``dict`` (no ``lipsum``/``cycler``/``joiner``/``namespace``, whose functions lead to module globals), and
``*`` and ``**`` are checked, so ``'x' * 10**9`` or ``9**9**9`` cannot eat the memory or the CPU.
"""

from __future__ import annotations

import operator
from typing import Any

from jinja2 import BaseLoader, StrictUndefined
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_SEQUENCE = 100_000  # longest string or list ``*`` may build
MAX_POWER_BITS = 4_096  # largest number ``**`` may build
SAFE_GLOBALS = ("range", "dict")


def _too_long(value: Any, times: Any) -> bool:
    return isinstance(value, (str, bytes, list, tuple)) and isinstance(times, int) and len(value) * times > MAX_SEQUENCE


def _too_big_power(base: Any, exponent: Any) -> bool:
    if not (isinstance(base, int) and isinstance(exponent, int)) or abs(base) < 2 or exponent < 1:
        return False
    return base.bit_length() * exponent > MAX_POWER_BITS


class TemplateSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, loader: BaseLoader | None = None, **options: Any) -> None:
        super().__init__(loader=loader, undefined=StrictUndefined, **options)
        self.globals = {name: self.globals[name] for name in SAFE_GLOBALS}

    def call_binop(self, context: Context, op: str, left: Any, right: Any) -> Any:
        if op == "*" and (_too_long(left, right) or _too_long(right, left)):
            raise SecurityError(f"the sandbox builds no sequence longer than {MAX_SEQUENCE}")
        if op == "**" and _too_big_power(left, right):
            raise SecurityError(f"the sandbox computes no power above {MAX_POWER_BITS} bits")
        return {"*": operator.mul, "**": operator.pow}[op](left, right)
