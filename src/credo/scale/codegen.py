"""The feature aggregates compiled from their SQL into one numba pass over a bucket's events.

:class:`KernelSource` reads each feature's aggregate expression (``Feature.sql(PARAMETERS)``, the
text the SQL engines run) and the scoring criteria with sqlglot and writes the Python source of
two functions that numba compiles:

* ``accumulate`` reads every event of a bucket once and updates, per consumer, one accumulator per
  distinct aggregate (``COUNT(*) FILTER (WHERE …)``, ``SUM``, ``MIN``, ``MAX``, ``AVG``), in one
  branch per event type holding only the aggregates whose filter can keep that type
  (:func:`possible_types`);
* ``finalise`` evaluates each feature's expression over its consumer's accumulators, then the
  outer ``COALESCE``/``CAST`` of :attr:`credo.features.builder.QueryShape.sql`.

SQL semantics are kept exactly: every value travels with a NULL flag, ``AND``/``OR``/``NOT``
follow three-valued logic, a ``FILTER`` keeps only rows whose condition is TRUE, aggregates skip
NULL inputs and are NULL over no input (``COUNT`` is 0), ``GREATEST`` ignores NULLs, and a consumer
with no usable event gets the LEFT JOIN's NULLs. Strings are compared as codes of a sorted
dictionary (so ``=`` and ``MAX`` agree with byte order); dates are days and timestamps
microseconds since the epoch; each ``$parameter`` is an argument, so one compiled kernel serves
every as-of instant. Anything outside this subset raises :class:`UnsupportedSQL` when the source
is written, never a wrong number later.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

import sqlglot
import sqlglot.expressions as exp

from credo.features.builder import PARAMETERS, column_types

Kind = Literal["int", "float", "bool"]
AggFunc = Literal["count_star", "count", "sum", "min", "max", "avg"]

#: Columns whose only supported use is ``= 1`` (the latest record): the kernel is given a rank-1 flag.
RANK_COLUMNS = frozenset({"recency_rank", "type_recency_rank"})
#: Enriched string columns coded with another column's dictionary.
SHARED_DICTIONARY = {"account_product": "product"}


class UnsupportedSQL(ValueError):
    """A feature expression outside the subset the compiled kernel evaluates."""


@dataclass(frozen=True)
class Value:
    """A generated value: its Python expression, its NULL flag's expression and its kind."""

    v: str
    n: str
    kind: Kind


@dataclass
class Aggregate:
    func: AggFunc
    value: exp.Expression | None
    where: exp.Expression | None
    kind: Kind = "int"
    #: The event types whose rows the filter can keep (None: any type).
    types: frozenset[str] | None = None


def possible_types(cond: exp.Expression | None) -> frozenset[str] | None:
    """The ``type`` values for which ``cond`` can be TRUE, read off its ``type = …`` / ``type IN (…)``
    terms through AND (intersection) and OR (union); None when it does not say."""
    if cond is None:
        return None
    cond = _unparen(cond)
    if isinstance(cond, exp.EQ):
        col, lit = _unparen(cond.this), _unparen(cond.expression)
        if isinstance(col, exp.Column) and col.name == "type" and isinstance(lit, exp.Literal) and lit.is_string:
            return frozenset({str(lit.this)})
    if isinstance(cond, exp.In):
        col = _unparen(cond.this)
        if isinstance(col, exp.Column) and col.name == "type" and all(
                isinstance(x, exp.Literal) and x.is_string for x in cond.expressions):
            return frozenset(str(x.this) for x in cond.expressions)
    if isinstance(cond, exp.And):
        left, right = possible_types(cond.this), possible_types(cond.expression)
        if left is None or right is None:
            return left if right is None else right
        return left & right
    if isinstance(cond, exp.Or):
        left, right = possible_types(cond.this), possible_types(cond.expression)
        return None if left is None or right is None else left | right
    return None


def _column_kind(sql_type: str) -> Kind:
    if sql_type == "BOOLEAN":
        return "bool"
    if sql_type == "DOUBLE":
        return "float"
    return "int"  # BIGINT, DATE (days), TIMESTAMPTZ (microseconds), VARCHAR (dictionary codes)


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


@dataclass
class _Emitter:
    """Writes straight-line code for expressions, each distinct subexpression once."""

    source: KernelSource
    mode: Literal["row", "consumer"]
    lines: list[str] = field(default_factory=list)
    memo: dict[str, Value] = field(default_factory=dict)

    def fresh(self) -> str:
        self.source.counter += 1
        return f"t{self.source.counter}"

    def assign(self, v: str, n: str, kind: Kind) -> Value:
        name = self.fresh()
        self.lines.append(f"{name}v = {v}")
        self.lines.append(f"{name}n = {n}")
        return Value(f"{name}v", f"{name}n", kind)

    def value(self, node: exp.Expression) -> Value:
        node = _unparen(node)
        key = node.sql(dialect="duckdb")
        if key not in self.memo:
            self.memo[key] = self._value(node)
        return self.memo[key]

    def _value(self, node: exp.Expression) -> Value:  # noqa: C901 - one branch per SQL construct
        src = self.source
        agg = src.aggregate_of(node)
        if agg is not None:
            if self.mode != "consumer":
                raise UnsupportedSQL(f"nested aggregate {node.sql('duckdb')}")
            k, spec = agg
            if spec.func in ("count_star", "count"):
                return Value(f"acc{k}[c]", "False", "int")
            if spec.func == "avg":
                return self.assign(f"acc{k}[c] / cnt{k}[c] if cnt{k}[c] > 0 else 0.0", f"(cnt{k}[c] == 0)", "float")
            return Value(f"acc{k}[c]", f"(not has{k}[c])", spec.kind)
        if isinstance(node, exp.Column):
            if self.mode != "row":
                raise UnsupportedSQL(f"column {node.name} outside an aggregate")
            return Value(f"{src.column(node.name)}_v[i]", f"{node.name}_n[i]", src.kinds[node.name])
        if isinstance(node, exp.Placeholder):
            name = src.parameter(node.name)
            return Value(name, "False", "int")
        if isinstance(node, exp.Boolean):
            return Value("True" if node.this else "False", "False", "bool")
        if isinstance(node, exp.Literal):
            if node.is_string:
                raise UnsupportedSQL(f"a string literal outside a comparison with a column: {node.sql('duckdb')}")
            text = str(node.this)
            return Value(text, "False", "int" if text.lstrip("-").isdigit() else "float")
        if isinstance(node, exp.Not):
            a = self.value(node.this)
            return self.assign(f"not {a.v}", a.n, "bool")
        if isinstance(node, exp.And):
            a, b = self.value(node.this), self.value(node.expression)
            fa, fb = f"((not {a.n}) & (not {a.v}))", f"((not {b.n}) & (not {b.v}))"
            return self.assign(f"not ({fa} | {fb} | {a.n} | {b.n})",
                               f"(not ({fa} | {fb})) & ({a.n} | {b.n})", "bool")
        if isinstance(node, exp.Or):
            a, b = self.value(node.this), self.value(node.expression)
            ta, tb = f"((not {a.n}) & {a.v})", f"((not {b.n}) & {b.v})"
            return self.assign(f"{ta} | {tb}", f"(not ({ta} | {tb})) & ({a.n} | {b.n})", "bool")
        if isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise UnsupportedSQL(f"IS other than IS NULL: {node.sql('duckdb')}")
            a = self.value(node.this)
            return Value(a.n, "False", "bool")
        if isinstance(node, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
            return self.comparison(node)
        if isinstance(node, exp.In):
            left = _unparen(node.this)
            if not isinstance(left, exp.Column) or not all(
                    isinstance(x, exp.Literal) and x.is_string for x in node.expressions):
                raise UnsupportedSQL(f"IN other than a column against strings: {node.sql('duckdb')}")
            a = self.value(left)
            tests = " | ".join(f"({a.v} == {src.literal(left.name, x.this)})" for x in node.expressions)
            return self.assign(f"(not {a.n}) & ({tests})", a.n, "bool")
        if isinstance(node, exp.Case):
            return self.case(node)
        if isinstance(node, exp.Cast):
            a = self.value(node.this)
            to = node.to.sql(dialect="duckdb").upper()
            if to == "DOUBLE":
                return self.assign(f"float({a.v})", a.n, "float")
            if to == "BIGINT" and a.kind == "int":
                return a
            if to == "BOOLEAN" and a.kind == "bool":
                return a
            raise UnsupportedSQL(f"CAST of a {a.kind} to {to}")
        if isinstance(node, exp.Coalesce):
            parts = [self.value(x) for x in (node.this, *node.expressions)]
            kind = self.common_kind(parts)
            v, n = self.cast(parts[-1], kind), parts[-1].n
            for p in reversed(parts[:-1]):
                v, n = f"({self.cast(p, kind)} if not {p.n} else {v})", f"({p.n} & {n})"
            return self.assign(v, n, kind)
        if isinstance(node, exp.Nullif):
            a, b = self.value(node.this), self.value(node.expression)
            return self.assign(a.v, f"{a.n} | ((not {b.n}) & ({a.v} == {b.v}))", a.kind)
        if isinstance(node, (exp.Greatest, exp.Least)):
            parts = [self.value(x) for x in (node.this, *node.expressions)]
            kind = self.common_kind(parts)
            pick = "max" if isinstance(node, exp.Greatest) else "min"
            out = self.assign(self.cast(parts[0], kind), parts[0].n, kind)
            for p in parts[1:]:
                self.lines.append(f"if not {p.n}:")
                self.lines.append(f"    {out.v} = {self.cast(p, kind)} if {out.n} else {pick}({out.v}, {self.cast(p, kind)})")
                self.lines.append(f"    {out.n} = False")
            return out
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul)):
            a, b = self.value(node.this), self.value(node.expression)
            op = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*"}[type(node)]
            kind = self.common_kind([a, b])
            return self.assign(f"{a.v} {op} {b.v}", f"{a.n} | {b.n}", kind)
        if isinstance(node, exp.Div):
            a, b = self.value(node.this), self.value(node.expression)
            if a.kind != "float" or b.kind != "float":
                raise UnsupportedSQL(f"division of non-DOUBLE operands: {node.sql('duckdb')}")
            return self.assign(f"{a.v} / {b.v} if {b.v} != 0.0 else 0.0",
                               f"{a.n} | {b.n} | ({b.v} == 0.0)", "float")
        if isinstance(node, exp.DateDiff):
            unit = node.unit.name.upper() if node.unit is not None else ""
            if unit != "DAY":
                raise UnsupportedSQL(f"DATE_DIFF in {unit or 'no unit'}")
            end, start = self.value(node.this), self.value(node.expression)
            return self.assign(f"{end.v} - {start.v}", f"{end.n} | {start.n}", "int")
        if isinstance(node, (exp.Year, exp.Month)):
            a = self.value(node.this)
            fn = "year_of" if isinstance(node, exp.Year) else "month_of"
            return self.assign(f"{fn}({a.v}) if not {a.n} else 0", a.n, "int")
        raise UnsupportedSQL(f"{type(node).__name__}: {node.sql('duckdb')}")

    @staticmethod
    def common_kind(parts: list[Value]) -> Kind:
        kinds = {p.kind for p in parts}
        if kinds == {"bool"}:
            return "bool"
        if "bool" in kinds:
            raise UnsupportedSQL("a boolean mixed with numbers")
        return "float" if "float" in kinds else "int"

    @staticmethod
    def cast(p: Value, kind: Kind) -> str:
        return f"float({p.v})" if kind == "float" and p.kind == "int" else p.v

    def comparison(self, node: exp.Expression) -> Value:
        ops: dict[type, str] = {exp.EQ: "==", exp.NEQ: "!=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
        op = ops[type(node)]
        left, right = _unparen(node.this), _unparen(node.expression)
        for col, other in ((left, right), (right, left)):
            if isinstance(col, exp.Column) and col.name in RANK_COLUMNS:
                if not (op == "==" and isinstance(other, exp.Literal) and str(other.this) == "1"):
                    raise UnsupportedSQL(f"{col.name} is only compared '= 1' (the latest record)")
                a = self.value(col)
                return self.assign(f"(not {a.n}) & {a.v}", a.n, "bool")
        if isinstance(right, exp.Literal) and right.is_string:
            if not isinstance(left, exp.Column) or op not in ("==", "!="):
                raise UnsupportedSQL(f"string comparison other than column = / <> literal: {node.sql('duckdb')}")
            a = self.value(left)
            return self.assign(f"{a.v} {op} {self.source.literal(left.name, right.this)}", a.n, "bool")
        a, b = self.value(left), self.value(right)
        return self.assign(f"{a.v} {op} {b.v}", f"{a.n} | {b.n}", "bool")

    def case(self, node: exp.Case) -> Value:
        subject = node.this
        arms: list[tuple[str, Value]] = []
        for arm in node.args.get("ifs") or []:
            if subject is not None:
                col = _unparen(subject)
                lit = _unparen(arm.this)
                if not (isinstance(col, exp.Column) and isinstance(lit, exp.Literal) and lit.is_string):
                    raise UnsupportedSQL(f"simple CASE other than a column against strings: {node.sql('duckdb')}")
                a = self.value(col)
                test = f"((not {a.n}) & ({a.v} == {self.source.literal(col.name, lit.this)}))"
            else:
                cond = self.value(arm.this)
                test = f"((not {cond.n}) & {cond.v})"
            arms.append((test, self.value(arm.args["true"])))
        default = node.args.get("default")
        other = self.value(default) if default is not None else None
        kind = self.common_kind([a for _, a in arms] + ([other] if other else []))
        zero = {"int": "0", "float": "0.0", "bool": "False"}[kind]
        v = self.cast(other, kind) if other else zero
        n = other.n if other else "True"
        for test, a in reversed(arms):
            v, n = f"({self.cast(a, kind)} if {test} else {v})", f"({a.n} if {test} else {n})"
        return self.assign(v, n, kind)


_HELPERS = '''
import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def civil(days):
    """(year, month) of a day count since 1970-01-01 (Howard Hinnant's civil_from_days)."""
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m


@njit(cache=True, nogil=True)
def year_of(days):
    return civil(days)[0]


@njit(cache=True, nogil=True)
def month_of(days):
    return civil(days)[1]
'''


class KernelSource:
    """The Python source of ``accumulate`` and ``finalise`` for a feature list and scoring criteria."""

    def __init__(self, features: tuple, criteria: object | None) -> None:
        self.features = features
        self.criteria = criteria
        self.counter = 0
        self.types = column_types()
        self.kinds: dict[str, Kind] = {name: _column_kind(t) for name, t in self.types.items()}
        self.columns: list[str] = []
        self.literals: dict[tuple[str, str], str] = {}
        self.parameters: dict[str, str] = {}
        self.aggregates: list[Aggregate] = []
        self._agg_index: dict[str, int] = {}
        outputs: list[tuple[str, exp.Expression, str]] = []
        for f in features:
            outputs.append((f.name, self._parse(f.sql(PARAMETERS)), f.empty))
        if criteria is not None:
            outputs.append(("is_scorable", self._parse(criteria.sql(PARAMETERS)), "scorable"))  # type: ignore[attr-defined]
        for _, tree, _ in outputs:
            for node in tree.walk():
                if isinstance(node, exp.Expression):
                    self._register(node)
        self.outputs = outputs
        self.text = self._write()

    @staticmethod
    def _parse(sql: str) -> exp.Expression:
        return sqlglot.parse_one(f"SELECT {sql} AS x", read="duckdb").expressions[0].this

    # -- names handed out while writing
    def column(self, name: str) -> str:
        if name not in self.types:
            raise UnsupportedSQL(f"unknown column {name}")
        if name not in self.columns:
            self.columns.append(name)
        return name

    def parameter(self, name: str) -> str:
        key = f"${name}"
        if key not in PARAMETERS.types():
            raise UnsupportedSQL(f"unknown parameter {key}")
        return self.parameters.setdefault(name, f"p_{name}")

    def literal(self, column: str, value: str) -> str:
        if self.types.get(column) != "VARCHAR":
            raise UnsupportedSQL(f"a string compared with {column}, which is not VARCHAR")
        return self.literals.setdefault((column, value), f"s{len(self.literals)}")

    # -- aggregates
    def _register(self, node: exp.Expression) -> None:
        if isinstance(node, exp.Filter):
            self._add(node.this, node.expression.this, node)
        elif isinstance(node, exp.AggFunc) and not isinstance(node.parent, exp.Filter):
            self._add(node, None, node)

    def _add(self, agg: exp.Expression, where: exp.Expression | None, node: exp.Expression) -> None:
        key = _unparen(node).sql(dialect="duckdb")
        if key in self._agg_index:
            return
        funcs: dict[type, str] = {exp.Sum: "sum", exp.Min: "min", exp.Max: "max", exp.Avg: "avg", exp.Count: "count"}
        func = funcs.get(type(agg))
        if func is None:
            raise UnsupportedSQL(f"aggregate {type(agg).__name__}")
        value = agg.this
        if func == "count" and isinstance(value, exp.Star):
            func, value = "count_star", None
        self._agg_index[key] = len(self.aggregates)
        self.aggregates.append(Aggregate(func, value, where, types=possible_types(where)))  # type: ignore[arg-type]

    def aggregate_of(self, node: exp.Expression) -> tuple[int, Aggregate] | None:
        if not isinstance(node, (exp.Filter, exp.AggFunc)):
            return None
        k = self._agg_index[node.sql(dialect="duckdb")]
        return k, self.aggregates[k]

    # -- the source
    def _accumulate(self) -> list[str]:
        """The per-row body: the aggregates that may count any type first, then one branch per event type
        with only the aggregates whose filter can hold for it (each branch evaluates its own
        subexpressions, so a row computes what its type can use and nothing else)."""
        universal = [k for k, a in enumerate(self.aggregates) if a.types is None]
        by_type: dict[str, list[int]] = {}
        for k, a in enumerate(self.aggregates):
            for t in sorted(a.types or ()):
                by_type.setdefault(t, []).append(k)
        body: list[str] = ["seen[c] = True", *self._updates(universal)]
        if by_type:
            code = self.column("type")
            for n, (t, ks) in enumerate(by_type.items()):
                body.append(f"{'if' if n == 0 else 'elif'} (not {code}_n[i]) & ({code}_v[i] == {self.literal('type', t)}):")
                body += [f"    {line}" for line in self._updates(ks)]
        return body

    def _updates(self, ks: list[int]) -> list[str]:
        em = _Emitter(self, "row")
        body: list[str] = []
        for k in ks:
            a = self.aggregates[k]
            before = len(em.lines)
            cond = em.value(a.where) if a.where is not None else None
            val = em.value(a.value) if a.value is not None else None
            if val is not None:
                if val.kind == "bool":
                    raise UnsupportedSQL("an aggregate over a boolean")
                if val.kind == "float" and a.func in ("sum", "avg"):
                    raise UnsupportedSQL("SUM/AVG of DOUBLE (the engines' summation order differs)")
                a.kind = "float" if a.func == "avg" else val.kind
            test = [] if cond is None else [f"(not {cond.n}) & {cond.v}"]
            if val is not None:
                test.append(f"not {val.n}")
            guard = " & ".join(f"({t})" for t in test) or "True"
            update = {
                "count_star": [f"acc{k}[c] += 1"],
                "count": [f"acc{k}[c] += 1"],
                "sum": [f"acc{k}[c] += {val.v if val else 0}", f"has{k}[c] = True"],
                "avg": [f"acc{k}[c] += {val.v if val else 0}", f"cnt{k}[c] += 1"],
                "min": [f"acc{k}[c] = {val.v if val else 0} if not has{k}[c] else min(acc{k}[c], {val.v if val else 0})",
                        f"has{k}[c] = True"],
                "max": [f"acc{k}[c] = {val.v if val else 0} if not has{k}[c] else max(acc{k}[c], {val.v if val else 0})",
                        f"has{k}[c] = True"],
            }[a.func]
            body += em.lines[before:]
            body.append(f"if {guard}:")
            body += [f"    {u}" for u in update]
        return body

    def _finalise(self) -> list[str]:
        em = _Emitter(self, "consumer")
        body: list[str] = []
        for j, (name, tree, empty) in enumerate(self.outputs):
            val = em.value(tree)
            body += em.lines
            em.lines = []
            if empty == "zero":
                if val.kind != "int":
                    raise UnsupportedSQL(f"{name}: a count feature must be an integer")
                body.append(f"out{j}[c] = {val.v} if (seen[c] and not {val.n}) else 0")
            elif empty == "null":
                body.append(f"out{j}[c] = float({val.v}) if (seen[c] and not {val.n}) else np.nan")
            else:
                if val.kind != "bool":
                    raise UnsupportedSQL("is_scorable must be a boolean")
                body.append(f"out{j}[c] = seen[c] and (not {val.n}) and {val.v}")
        return body

    def _write(self) -> str:
        acc_body = self._accumulate()
        fin_body = self._finalise()
        cols = [f"{c}_v, {c}_n" for c in self.columns]
        params = list(self.parameters.values())
        lits = list(self.literals.values())
        accs = [f"acc{k}" + (f", has{k}" if a.func in ("sum", "min", "max") else "")
                + (f", cnt{k}" if a.func == "avg" else "") for k, a in enumerate(self.aggregates)]
        acc_args = ", ".join(["cons", *cols, *params, *lits, "seen", *accs])
        fin_args = ", ".join(["seen", *params, *accs, *(f"out{j}" for j in range(len(self.outputs)))])
        lines = [
            _HELPERS,
            "",
            "@njit(cache=True, nogil=True)",
            f"def accumulate({acc_args}):",
            "    for i in range(cons.shape[0]):",
            "        c = cons[i]",
            *(f"        {line}" for line in acc_body),
            "",
            "",
            "@njit(cache=True, nogil=True)",
            f"def finalise({fin_args}):",
            "    for c in range(seen.shape[0]):",
            *(f"        {line}" for line in fin_body),
            "",
        ]
        return "\n".join(lines)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]


__all__ = ["Aggregate", "KernelSource", "possible_types", "RANK_COLUMNS", "SHARED_DICTIONARY", "UnsupportedSQL", "Value"]
