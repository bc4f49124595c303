"""The expressions of script nodes: compiling them, and evaluating them in a sandbox.

A script node sets context values from expressions (contract §3: "no code runs"). Each is a
Jinja2 *expression* (not a template), compiled once when the template loads, so a syntax error
refuses the template, and evaluated by the runtime against `{"context": <the run context>}`
only. It returns the value itself (a number stays a number, the string "123456" stays a string):
`compile_expression` gives the native result, never re-parsed text.

The sandbox is `ImmutableSandboxedEnvironment` with `StrictUndefined` (a missing value is an
error, never an empty string), narrowed further: attribute access beyond data is refused by the
sandbox; only a few non-growing methods of strings, mappings and lists may be called; the
filters are a vetted subset; `*`, `**`, `+` and `%` are intercepted so that huge powers, string
or list repetition and %-formatting are refused; `range` is capped; the source, every grown
string or list, and the result are bounded. Two helpers exist as globals and filters: `quote`
(a CQL or JQL string literal) and `fail(message)` (stops the run with that message as the
step's error).
"""

from __future__ import annotations

import json
import math
import re
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NoReturn

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace

MAX_SOURCE_LENGTH = 2000
MAX_RESULT_CHARS = 65_536  # of the result serialised as JSON, and of any string or list grown
MAX_RANGE = 1000
MAX_INT_BITS = 4096
MAX_DEPTH = 64
MAX_MESSAGE_LENGTH = 300

# The variable an expression reads: the run context.
CONTEXT = "context"

# Methods that never grow their result beyond their input (no widths, no replacement strings).
SAFE_METHODS: tuple[tuple[type, frozenset[str]], ...] = (
    (
        str,
        frozenset(
            {
                "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum",
                "isalpha", "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle",
                "isupper", "lower", "lstrip", "partition", "removeprefix", "removesuffix",
                "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split", "splitlines",
                "startswith", "strip", "swapcase", "title", "upper",
            }
        ),
    ),
    (dict, frozenset({"get", "items", "keys", "values"})),
    (list, frozenset({"count", "index"})),
)  # fmt: skip

# Jinja's filters that are linear in their input and take no size argument; `join` is bounded
# below. Left out: center, indent, wordwrap, format, replace, batch, slice (they can be made to
# build huge strings from a short expression), random (not reproducible), pprint, xmlattr, attr.
SAFE_FILTERS = (
    "abs", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
    "int", "items", "last", "length", "list", "lower", "map", "max", "min", "reject",
    "rejectattr", "reverse", "round", "select", "selectattr", "sort", "string", "sum", "title",
    "trim", "truncate", "unique", "upper", "urlencode", "wordcount",
)  # fmt: skip

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]+")


class ExpressionError(ValueError):
    """An expression that does not compile, or whose evaluation failed (an unsafe operation, a
    missing value, a type error, a result too large). The message names what went wrong, never
    a secret: an expression reads only the run context."""


class ScriptFailed(Exception):
    """`fail(message)` was called: the run stops with `message` as the step's error.

    `message` is safe to show: text only, single line, at most `MAX_MESSAGE_LENGTH` characters.
    """

    def __init__(self, message: str) -> None:
        self.message = _one_line(message, MAX_MESSAGE_LENGTH) or "the script failed"
        super().__init__(self.message)


# --- the helpers an expression may call ----------------------------------------------------


def quote(text: Any) -> str:
    """`text` as a double-quoted CQL or JQL string literal: `\\` and `"` escaped."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise TypeError(f"quote() takes a string, not {_type_name(text)}")
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def fail(message: Any = "the script failed") -> NoReturn:
    """Stop the run: the step fails with `message` as its error."""
    if isinstance(message, Undefined):
        message._fail_with_undefined_error()
    raise ScriptFailed(str(message))


def _capped_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE} items")
    return numbers


def _bounded_join(value: Iterable[Any], d: str = "") -> str:
    texts = [str(item) for item in value]
    separator = str(d)
    if sum(map(len, texts)) + len(separator) * max(len(texts) - 1, 0) > MAX_RESULT_CHARS:
        raise SecurityError(f"join() would build more than {MAX_RESULT_CHARS} characters")
    return separator.join(texts)


# --- the sandbox -----------------------------------------------------------------------------


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, narrowed to data: see the module docstring."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False)
        # lipsum(n) builds n paragraphs: left out with every other default global that is not
        # plain data or one of ours.
        self.globals = {
            "range": _capped_range,
            "dict": dict,
            "cycler": Cycler,
            "joiner": Joiner,
            "namespace": Namespace,
            "quote": quote,
            "fail": fail,
        }
        self.filters = {name: FILTERS[name] for name in SAFE_FILTERS}
        self.filters.update({"join": _bounded_join, "quote": quote, "fail": fail})
        self._callables = frozenset(id(value) for value in self.globals.values())

    def getattr(self, obj: Any, attribute: str) -> Any:
        # `context.entities.items` must be the entity named "items", not dict.items: data first.
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if isinstance(obj, Undefined):
            obj._fail_with_undefined_error()
        if not self.is_safe_callable(obj):
            name = getattr(obj, "__qualname__", None) or _type_name(obj)
            raise SecurityError(f"calling {name} is not available")
        return context.call(obj, *args, **kwargs)

    def is_safe_callable(self, obj: Any) -> bool:
        if id(obj) in self._callables:
            return True
        if not isinstance(obj, types.BuiltinMethodType | types.MethodType):
            return False
        owner, name = getattr(obj, "__self__", None), getattr(obj, "__name__", "")
        return any(isinstance(owner, kind) and name in names for kind, names in SAFE_METHODS)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError("%-formatting is not available: join text with ~")
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_product(left, right)
        elif operator == "+" and _is_sequence(left) and _is_sequence(right):
            _check_length(len(left) + len(right))
        return super().call_binop(context, operator, left, right)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, str | list | tuple)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_length(length: int) -> None:
    if length > MAX_RESULT_CHARS:
        raise SecurityError(f"a string or list longer than {MAX_RESULT_CHARS} is refused")


def _check_power(base: Any, exponent: Any) -> None:
    integers = _is_integer(base) and _is_integer(exponent)
    if integers and exponent > 0 and max(abs(base).bit_length(), 1) * exponent > MAX_INT_BITS:
        raise SecurityError(f"a power beyond {MAX_INT_BITS} bits is refused")


def _check_product(left: Any, right: Any) -> None:
    for sequence, times in ((left, right), (right, left)):
        if _is_sequence(sequence) and _is_integer(times):
            _check_length(len(sequence) * max(times, 0))
    integers = _is_integer(left) and _is_integer(right)
    if integers and abs(left).bit_length() + abs(right).bit_length() > MAX_INT_BITS:
        raise SecurityError(f"a product beyond {MAX_INT_BITS} bits is refused")


SANDBOX = _Sandbox()
GLOBALS = frozenset(SANDBOX.globals)


# --- compiling and evaluating ----------------------------------------------------------------


@dataclass(frozen=True)
class Expression:
    """A compiled expression. `paths` are the dotted paths it reads from its variables, each as
    a tuple of names starting with the variable (`("context", "entities", "spaceKey")`), cut
    where a part is computed rather than written down."""

    source: str
    paths: tuple[tuple[str, ...], ...]
    _compiled: Callable[..., Any] = field(repr=False, compare=False)

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The value of the expression for the run context `context` (JSON data).

        Raises `ScriptFailed` when it calls `fail(...)`, `ExpressionError` for anything else
        that goes wrong."""
        try:
            return _plain(self._compiled(**{CONTEXT: context}))
        except (ScriptFailed, ExpressionError):
            raise
        # An evaluated expression can raise from any operator, filter or method it uses; the
        # runtime needs one error type, with a message that names the problem.
        except Exception as exc:
            raise ExpressionError(_describe(exc)) from None


def compile_expression(source: str) -> Expression:
    """Compile `source`; raises `ExpressionError` when it is too long or does not parse."""
    return _compile(source)


def evaluate(source: str, context: Mapping[str, Any]) -> Any:
    """Compile (once, cached) and evaluate `source` for the run context `context`."""
    return _compile(source).evaluate(context)


def run_script(assignments: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, Any]:
    """What a script node adds to the run context: each output as `{"value": result}`.

    Every expression sees the context as it was before the node (outputs of the same node are
    not visible to each other). Raises `ScriptFailed` or `ExpressionError` as `evaluate` does,
    the latter naming the output."""
    outputs: dict[str, Any] = {}
    for name, source in assignments.items():
        try:
            outputs[name] = {"value": evaluate(source, context)}
        except ExpressionError as exc:
            raise ExpressionError(f"{name}: {exc}") from None
    return outputs


@lru_cache(maxsize=1024)
def _compile(source: str) -> Expression:
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("an expression must be non-empty text")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(f"an expression is limited to {MAX_SOURCE_LENGTH} characters")
    try:
        parser = Parser(SANDBOX, source, state="variable")
        tree = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError("text after the expression", parser.stream.current.lineno)
        compiled = SANDBOX.compile_expression(source, undefined_to_none=False)
        paths = tuple(_paths(tree))
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"does not compile: {exc.message}") from None
    except RecursionError:
        raise ExpressionError("does not compile: it is nested too deeply") from None
    return Expression(source=source, paths=paths, _compiled=compiled)


def _paths(node: nodes.Node) -> Iterator[tuple[str, ...]]:
    chain = _chain(node)
    if chain is not None:
        yield chain
        return
    for child in node.iter_child_nodes():
        yield from _paths(child)


def _chain(node: nodes.Node) -> tuple[str, ...] | None:
    """`a.b['c'].d` as ("a", "b", "c", "d"); None unless it is a name followed by written-down
    attributes or subscripts."""
    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str | int)
            and not isinstance(node.arg.value, bool)
        ):
            parts.append(str(node.arg.value))
            node = node.node
        elif isinstance(node, nodes.Name):
            return (node.name, *reversed(parts))
        else:
            return None


def _plain(value: Any) -> Any:
    """`value` as JSON data; refused when it is not data or when it is too large."""
    result = _data(value, 1)
    if len(json.dumps(result, ensure_ascii=False, separators=(",", ":"))) > MAX_RESULT_CHARS:
        raise ExpressionError(f"the result is larger than {MAX_RESULT_CHARS} characters")
    return result


def _data(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ExpressionError(f"the result is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExpressionError("the result is not a finite number")
        return value
    if isinstance(value, str):
        return str(value)  # a Markup (from `escape`) becomes plain text
    if isinstance(value, list | tuple):
        return [_data(item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise ExpressionError("the result is a mapping whose keys are not all text")
        return {key: _data(item, depth + 1) for key, item in value.items()}
    raise ExpressionError(f"the result must be JSON data, not {_type_name(value)}")


def _describe(exc: Exception) -> str:
    if isinstance(exc, SecurityError):
        return _one_line(f"refused: {exc}", MAX_MESSAGE_LENGTH)
    return _one_line(f"{type(exc).__name__}: {exc}", MAX_MESSAGE_LENGTH)


def _one_line(text: str, limit: int) -> str:
    flat = CONTROL_CHARACTERS.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _type_name(value: Any) -> str:
    return type(value).__name__
