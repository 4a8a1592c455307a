"""CloudWatch metric math over time series: a parser and evaluator (pure, no moto).

The semantics are those of "Metric math syntax and functions" in the CloudWatch User Guide
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html,
source text in awsdocs/amazon-cloudwatch-user-guide, doc_source/using-metric-math.md):

- Ids "must start with a lowercase letter" (letters, numbers, underscore); "All functions
  must be written in uppercase letters".
- Arithmetic ``+ - * / ^`` and unary ``-`` on S, TS and TS[]: "Missing values in a time
  series are treated as 0. If the value of a data point causes a function to attempt to
  divide by zero, the data point is dropped." So TS op TS covers the union of both series'
  timestamps, a timestamp missing from one side counting as 0; TS op S applies to each
  point of the TS.
- Comparison ``== != <= >= < >`` and logical ``AND && OR ||``: each point "is either 0
  (false) or 1 (true)"; "When comparison operators are used between two time series, and
  only one of the time series has a value for a particular time stamp, the function treats
  the missing value in the other time series as 0" (the guide's table is reproduced in
  tests/component/test_metric_math.py). NOT / ``!`` are not listed: an error here.
- ``IF(condition, trueValue[, falseValue])``: a condition point is false if 0, else true;
  each documented syntax (IF(TS, TS|S, TS|S), IF(S, TS, TS)) with its rules for missing
  points: true with no trueValue point gives 0; false with no falseValue point (or no
  falseValue) drops the point; no condition point, no output point; IF(S, TS) with a false
  S is an empty series.
- ``FILL(TS|TS[], S)`` fills the missing values of the series with S over the request's
  period grid (FILL's alarm caveat in the guide: "the most recent minute never has data. In
  this case, FILL replaces that missing data point with the requested value").
- ``ABS``; ``MIN MAX SUM AVG`` of one TS are scalars over its data points; ``SUM`` and
  ``AVG`` of a TS[] are a TS ("Missing values are treated as 0"); ``METRICS()`` /
  ``METRICS("text")`` the request's metrics (not expressions) whose Id contains the text;
  ``[a, b]`` an array; ``PERIOD(m)`` a metric's period; ``TIME_SERIES(S)`` a non-sparse
  series of S.
- "The final result of any math expression must be a single time series or an array of
  time series": a scalar result is an error; an array result is not supported here.

Not documented, so ours: precedence is the usual one (unary minus and ``^`` bind
tightest, ``^`` right-associative, then ``* /``, ``+ -``, comparisons, AND, OR);
``MIN``/``MAX`` of a TS[] use the points that exist; a scalar reduced from an empty series
is "no value" and drops every point it touches. Everything else (FILL REPEAT/LINEAR, whose
exact rules we could not read, DIFF, RATE, SEARCH, ANOMALY_DETECTION_BAND, number literals
with exponents...) raises :class:`MetricMathError`, which GetMetricData turns into a
ValidationError: the emulator never returns data for an expression it does not model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Union

Series = dict[datetime, float]


class MetricMathError(ValueError):
    """A bad or unsupported expression (GetMetricData answers it with a ValidationError)."""


# ------------------------------------------------------------------ tokens
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?|\.\d+)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r'|(?P<str>"[^"]*")'
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[-+*/^()<>,\[\]!]))"
)


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, id, func, kw, str, op, end
    text: str
    at: int


def _tokens(text: str) -> list[_Tok]:
    found: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise MetricMathError(f"unexpected character {text[pos:].strip()[:1]!r} at position {pos}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        start = m.start(kind)
        if kind == "name":
            if value in ("AND", "OR"):
                kind = "kw"
            elif value[0].islower():
                kind = "id"
            elif value.isupper() or value.replace("_", "").isupper():
                kind = "func"
            else:
                raise MetricMathError(f"{value!r}: an Id must start with a lowercase letter, a function is uppercase")
        if kind == "num" and m.end() < len(text) and (text[m.end()].isalpha() or text[m.end()] == "_"):
            raise MetricMathError(f"unsupported number literal at position {start}")
        found.append(_Tok(kind, value, start))
        pos = m.end()
    found.append(_Tok("end", "", len(text)))
    return found


# ------------------------------------------------------------------ syntax tree
@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Ref:
    id: str


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Unary:
    op: str
    arg: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Array:
    items: tuple[Node, ...]


Node = Union[Num, Ref, Text, Unary, Binary, Call, Array]  # noqa: UP007 - a runtime alias

FUNCTIONS = frozenset({"IF", "FILL", "ABS", "MIN", "MAX", "SUM", "AVG", "METRICS", "PERIOD", "TIME_SERIES"})
_COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text or tok.kind not in ("op", "kw"):
            raise MetricMathError(f"expected {text!r} at position {tok.at}, found {tok.text or 'the end'!r}")

    def parse(self) -> Node:
        node = self.or_()
        tok = self.peek()
        if tok.kind != "end":
            raise MetricMathError(f"unexpected {tok.text!r} at position {tok.at}")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.peek().text in ("OR", "||") and self.peek().kind in ("kw", "op"):
            self.take()
            node = Binary("OR", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.cmp()
        while self.peek().text in ("AND", "&&") and self.peek().kind in ("kw", "op"):
            self.take()
            node = Binary("AND", node, self.cmp())
        return node

    def cmp(self) -> Node:
        node = self.add()
        while self.peek().kind == "op" and self.peek().text in _COMPARISONS:
            op = self.take().text
            node = Binary(op, node, self.add())
        return node

    def add(self) -> Node:
        node = self.mul()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            op = self.take().text
            node = Binary(op, node, self.mul())
        return node

    def mul(self) -> Node:
        node = self.unary()
        while self.peek().kind == "op" and self.peek().text in ("*", "/"):
            op = self.take().text
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text == "-":
            self.take()
            return Unary("-", self.unary())
        if tok.kind == "op" and tok.text == "!":
            raise MetricMathError(f"'!' (NOT) is not a metric math operator (position {tok.at})")
        return self.power()

    def power(self) -> Node:
        node = self.primary()
        if self.peek().kind == "op" and self.peek().text == "^":
            self.take()
            node = Binary("^", node, self.unary())
        return node

    def args(self, close: str) -> tuple[Node, ...]:
        items: list[Node] = []
        if self.peek().kind == "op" and self.peek().text == close:
            self.take()
            return ()
        while True:
            tok = self.peek()
            items.append(Text(self.take().text[1:-1]) if tok.kind == "str" else self.or_())
            nxt = self.take()
            if nxt.kind == "op" and nxt.text == close:
                return tuple(items)
            if nxt.kind != "op" or nxt.text != ",":
                raise MetricMathError(f"expected ',' or {close!r} at position {nxt.at}")

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return Num(float(tok.text))
        if tok.kind == "id":
            return Ref(tok.text)
        if tok.kind == "func":
            if tok.text not in FUNCTIONS:
                raise MetricMathError(f"the function {tok.text} is not supported by the emulator")
            self.expect("(")
            return Call(tok.text, self.args(")"))
        if tok.kind == "op" and tok.text == "(":
            node = self.or_()
            self.expect(")")
            return node
        if tok.kind == "op" and tok.text == "[":
            return Array(self.args("]"))
        raise MetricMathError(f"unexpected {tok.text or 'end of expression'!r} at position {tok.at}")


def parse(expression: str) -> Node:
    """The syntax tree of ``expression``; :class:`MetricMathError` if it is not one we model."""
    if not expression or not expression.strip():
        raise MetricMathError("the expression is empty")
    if expression.lstrip().upper().startswith("SELECT"):
        raise MetricMathError("Metrics Insights queries (SELECT) are not supported by the emulator")
    return _Parser(expression).parse()


def references(node: Node) -> set[str]:
    """The query Ids ``node`` uses (METRICS() is resolved by the caller)."""
    if isinstance(node, Ref):
        return {node.id}
    if isinstance(node, Unary):
        return references(node.arg)
    if isinstance(node, Binary):
        return references(node.left) | references(node.right)
    if isinstance(node, (Call, Array)):
        found: set[str] = set()
        for arg in node.args if isinstance(node, Call) else node.items:
            found |= references(arg)
        return found
    return set()


def uses_metrics(node: Node) -> bool:
    """Whether ``node`` calls METRICS() (it then depends on every metric of the request)."""
    if isinstance(node, Call):
        return node.name == "METRICS" or any(uses_metrics(a) for a in node.args)
    if isinstance(node, Unary):
        return uses_metrics(node.arg)
    if isinstance(node, Binary):
        return uses_metrics(node.left) or uses_metrics(node.right)
    if isinstance(node, Array):
        return any(uses_metrics(a) for a in node.items)
    return False


# ------------------------------------------------------------------ evaluation
@dataclass
class Context:
    """What an expression is evaluated against: each query's series by Id, the Ids of the
    request's metrics (MetricStat queries, in request order), their periods, and the
    request's period grid (the start of every period from StartTime to EndTime)."""

    series: Mapping[str, Series]
    metric_ids: Sequence[str] = ()
    periods: Mapping[str, int] = field(default_factory=dict)
    grid: Sequence[datetime] = ()


Value = Union[float, Series, list[Series], str]  # noqa: UP007


def _clean(points: Iterable[tuple[datetime, float]]) -> Series:
    return {t: v for t, v in points if not (math.isnan(v) or math.isinf(v))}


def _apply(op: str, a: float, b: float) -> float:
    """One point of a binary operation; NaN drops the point (division by zero, for one)."""
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        if op == "^":
            return math.pow(a, b)
    except (ZeroDivisionError, ValueError, OverflowError):
        return math.nan
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if op == "AND":
        return 1.0 if a != 0 and b != 0 else 0.0
    if op == "OR":
        return 1.0 if a != 0 or b != 0 else 0.0
    compare: dict[str, Callable[[float, float], bool]] = {
        "==": lambda x, y: x == y,
        "!=": lambda x, y: x != y,
        "<": lambda x, y: x < y,
        "<=": lambda x, y: x <= y,
        ">": lambda x, y: x > y,
        ">=": lambda x, y: x >= y,
    }
    return 1.0 if compare[op](a, b) else 0.0


def _binary(op: str, left: Value, right: Value) -> Value:
    if isinstance(left, str) or isinstance(right, str):
        raise MetricMathError("a string is only an argument of METRICS()")
    if isinstance(left, list):
        return [_series(_binary(op, item, right)) for item in left]
    if isinstance(right, list):
        return [_series(_binary(op, left, item)) for item in right]
    if isinstance(left, dict) and isinstance(right, dict):
        stamps = left.keys() | right.keys()
        return _clean((t, _apply(op, left.get(t, 0.0), right.get(t, 0.0))) for t in stamps)
    if isinstance(left, dict):
        scalar = float(right)  # type: ignore[arg-type]
        return _clean((t, _apply(op, v, scalar)) for t, v in left.items())
    if isinstance(right, dict):
        return _clean((t, _apply(op, float(left), v)) for t, v in right.items())
    return _apply(op, float(left), float(right))


def _series(value: Value) -> Series:
    if not isinstance(value, dict):
        raise MetricMathError("expected a time series")
    return value


def _scalar(value: Value, what: str) -> float:
    if isinstance(value, (dict, list, str)):
        raise MetricMathError(f"{what} must be a number")
    return float(value)


def _reduce(name: str, values: list[float]) -> float:
    if not values:
        return math.nan
    if name == "MIN":
        return min(values)
    if name == "MAX":
        return max(values)
    if name == "SUM":
        return math.fsum(values)
    return math.fsum(values) / len(values)


class _Evaluator:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def eval(self, node: Node) -> Value:
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Text):
            return node.value
        if isinstance(node, Ref):
            if node.id not in self.ctx.series:
                raise MetricMathError(f"unknown Id {node.id!r}")
            return dict(self.ctx.series[node.id])
        if isinstance(node, Array):
            items: list[Series] = []
            for item in node.items:
                value = self.eval(item)
                if isinstance(value, list):
                    items.extend(value)
                else:
                    items.append(_series(value))
            return items
        if isinstance(node, Unary):
            return _binary("*", -1.0, self.eval(node.arg))
        if isinstance(node, Binary):
            return _binary(node.op, self.eval(node.left), self.eval(node.right))
        return self.call(node)

    def call(self, node: Call) -> Value:
        name, args = node.name, node.args
        if name == "IF":
            if len(args) not in (2, 3):
                raise MetricMathError("IF takes 2 or 3 arguments")
            values = [self.eval(a) for a in args]
            return _if(values[0], values[1], values[2] if len(values) == 3 else None)
        if name == "FILL":
            if len(args) != 2:
                raise MetricMathError("FILL takes 2 arguments")
            target = self.eval(args[0])
            filler = self.eval(args[1])
            if isinstance(filler, (dict, list, str)):
                raise MetricMathError("FILL with REPEAT, LINEAR or a time series is not supported by the emulator")
            if isinstance(target, list):
                return [self._fill(t, float(filler)) for t in target]
            return self._fill(_series(target), float(filler))
        if name == "ABS":
            value = self._one(name, args)
            if isinstance(value, list):
                return [{t: abs(v) for t, v in s.items()} for s in value]
            return {t: abs(v) for t, v in _series(value).items()}
        if name in ("MIN", "MAX", "SUM", "AVG"):
            value = self._one(name, args)
            if isinstance(value, list):
                return _pointwise(name, value)
            return _reduce(name, list(_series(value).values()))
        if name == "METRICS":
            if len(args) > 1 or (args and not isinstance(args[0], Text)):
                raise MetricMathError('METRICS takes no argument or one string, METRICS("text")')
            text = args[0].value if args and isinstance(args[0], Text) else ""
            return [dict(self.ctx.series[i]) for i in self.ctx.metric_ids if text in i]
        if name == "PERIOD":
            if len(args) != 1 or not isinstance(args[0], Ref) or args[0].id not in self.ctx.periods:
                raise MetricMathError("PERIOD takes the Id of a metric")
            return float(self.ctx.periods[args[0].id])
        if name == "TIME_SERIES":
            value = _scalar(self._one(name, args), "TIME_SERIES's argument")
            return _clean((t, value) for t in self.ctx.grid)
        raise MetricMathError(f"the function {name} is not supported by the emulator")

    def _one(self, name: str, args: tuple[Node, ...]) -> Value:
        if len(args) != 1:
            raise MetricMathError(f"{name} takes 1 argument")
        value = self.eval(args[0])
        if isinstance(value, str):
            raise MetricMathError(f"{name} does not take a string")
        return value

    def _fill(self, series: Series, filler: float) -> Series:
        filled = dict(series)
        for t in self.ctx.grid:
            filled.setdefault(t, filler)
        return _clean(filled.items())


def _pointwise(name: str, items: list[Series]) -> Series:
    stamps: set[datetime] = set()
    for s in items:
        stamps |= s.keys()
    if name in ("SUM", "AVG"):  # "Missing values are treated as 0"
        return _clean((t, _reduce(name, [s.get(t, 0.0) for s in items])) for t in stamps)
    return _clean((t, _reduce(name, [s[t] for s in items if t in s])) for t in stamps)


def _if(cond: Value, yes: Value, no: Value | None) -> Series:
    """IF as the guide's "Using IF expressions" defines it, point by point."""
    for v in (cond, yes, no):
        if isinstance(v, (list, str)):
            raise MetricMathError("IF takes time series or numbers")
    if not isinstance(cond, dict):  # IF(S, TS[, TS])
        if not isinstance(yes, dict) or (no is not None and not isinstance(no, dict)):
            raise MetricMathError("IF with a scalar condition takes time series: IF(S, TS, TS)")
        chosen = yes if _scalar(cond, "IF's condition") != 0 else no
        return dict(chosen) if chosen is not None else {}
    out: Series = {}
    for t, c in cond.items():
        if c != 0:
            out[t] = yes.get(t, 0.0) if isinstance(yes, dict) else _scalar(yes, "IF's true value")
        elif isinstance(no, dict):
            if t in no:
                out[t] = no[t]
        elif no is not None:
            out[t] = _scalar(no, "IF's false value")
    return _clean(out.items())


def evaluate(expression: str | Node, ctx: Context) -> Series:
    """The single time series ``expression`` gives over ``ctx``."""
    node = parse(expression) if isinstance(expression, str) else expression
    value = _Evaluator(ctx).eval(node)
    if isinstance(value, list):
        raise MetricMathError("an expression that returns an array of time series is not supported by the emulator")
    if not isinstance(value, dict):
        raise MetricMathError("the final result of a math expression must be a time series, not a number")
    return value


def evaluate_all(
    expressions: Mapping[str, str], metrics: Mapping[str, Series], periods: Mapping[str, int], grid: Sequence[datetime]
) -> dict[str, Series]:
    """Every expression's series (an expression may use other expressions' Ids), with the
    metrics' series as given. :class:`MetricMathError` for a cycle or an unknown Id."""
    trees = {qid: parse(text) for qid, text in expressions.items()}
    series: dict[str, Series] = dict(metrics)
    ctx = Context(series, tuple(metrics), periods, grid)
    state: dict[str, str] = {}

    def visit(qid: str) -> None:
        if state.get(qid) == "done":
            return
        if state.get(qid) == "visiting":
            raise MetricMathError(f"the expression {qid!r} refers to itself (a cycle)")
        state[qid] = "visiting"
        for ref in sorted(references(trees[qid])):
            if ref in trees:
                visit(ref)
            elif ref not in metrics:
                raise MetricMathError(f"the expression {qid!r} uses the unknown Id {ref!r}")
        series[qid] = evaluate(trees[qid], ctx)
        state[qid] = "done"

    for qid in trees:
        visit(qid)
    return {qid: series[qid] for qid in trees}


__all__ = [
    "Context",
    "MetricMathError",
    "Series",
    "evaluate",
    "evaluate_all",
    "parse",
    "references",
    "uses_metrics",
]
