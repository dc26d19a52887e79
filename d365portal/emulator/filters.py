"""$filter: parsed with odata-query into an AST, compiled here into a Python predicate over rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from odata_query import ast
from odata_query.exceptions import ODataException, TokenizingException
from odata_query.grammar import ODataLexer, ODataParser

from d365portal.emulator import errors
from d365portal.emulator.schema import Column, Table
from d365portal.emulator.store import LOGICAL, Store

Predicate = Callable[[dict[str, Any]], bool]
Getter = Callable[[dict[str, Any]], Any]
Candidates = Callable[[], set[str] | None]  # ids that may match (a superset), or None for "all rows"

_OPERATOR_KINDS = {
    ast.Eq: "Equal",
    ast.NotEq: "NotEqual",
    ast.Lt: "LessThan",
    ast.LtE: "LessThanOrEqual",
    ast.Gt: "GreaterThan",
    ast.GtE: "GreaterThanOrEqual",
}
_COMPARE: dict[type[ast._Comparator], Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
_STRING_FUNCTIONS = {"contains", "startswith", "endswith"}
_QUERY_FUNCTION = re.compile(r"\bMicrosoft\.Dynamics\.CRM\.\w+\(")


def parse_filter(text: str) -> ast._Node:
    """Parse $filter text, mapping parser errors to Dataverse's 400 0x80060888."""
    function = _QUERY_FUNCTION.search(text)
    if function:
        raise errors.not_implemented(f"the query function '{function.group(0)[:-1]}'")
    try:
        return ODataParser().parse(ODataLexer().tokenize(text))
    except TokenizingException as exc:
        token = getattr(exc, "token", None)
        value = str(getattr(token, "value", ""))
        index = getattr(token, "index", len(text))
        if value.startswith("'"):
            raise errors.query_syntax(
                f"There is an unterminated literal at position {len(text)} in '{text}'."
            ) from None
        raise errors.query_syntax(
            f"Syntax error: character '{value[:1]}' is not valid at position {index} in '{text}'."
        ) from None
    except ODataException:
        raise errors.query_syntax(f"Syntax error at position {len(text)} in '{text}'.") from None


def parse_datetime(value: str) -> datetime:
    """An ISO-8601 value (date or datetime) as an aware UTC datetime."""
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class FilterCompiler:
    """Turns a $filter AST into a predicate, checking every name and type like Dataverse does."""

    def __init__(self, store: Store, table: Table) -> None:
        self.store = store
        self.table = table
        self.touched: set[str] = {table.entity_set}  # tables whose changes change the result

    def compile(self, text: str) -> Predicate:
        """The predicate for `text`."""
        return self._node(parse_filter(text))

    def compile_with_plan(self, text: str) -> tuple[Predicate, Candidates]:
        """The predicate and a cheap superset of the matching ids (lookup indexes), when one exists."""
        tree = parse_filter(text)
        predicate = self._node(tree)
        plan = self._plan(tree)
        return predicate, (plan if plan is not None else (lambda: None))

    def _plan(self, node: ast._Node) -> Candidates | None:
        """Use lookup indexes for `lookup eq guid` (also through one navigation hop) under and/or."""
        if isinstance(node, ast.BoolOp):
            left, right = self._plan(node.left), self._plan(node.right)
            if isinstance(node.op, ast.And):
                if left and right:
                    return lambda: _intersect(left(), right())
                return left or right
            if left and right:
                return lambda: _union(left(), right())
            return None
        if not isinstance(node, ast.Compare) or not isinstance(node.comparator, ast.Eq):
            return None
        if not isinstance(node.right, ast.GUID):
            return None
        value = node.right.val.lower()
        if isinstance(node.left, ast.Identifier):
            return self._ids_where(self.table, node.left.name, value)
        if isinstance(node.left, ast.Attribute) and isinstance(node.left.owner, ast.Identifier):
            nav = self.table.navigations.get(node.left.owner.name)
            if nav is None:
                return None
            lookup_column, target = nav
            related = self._ids_where(self.store.table_for(target), node.left.attr, value)
            if related is None:
                return None
            entity_set, key = self.table.entity_set, lookup_column.read_name

            def through() -> set[str] | None:
                index = self.store.index(entity_set, key)
                out: set[str] = set()
                for ref in related() or ():
                    out |= index.get(ref, set())
                return out

            return through
        return None

    def _ids_where(self, table: Table, name: str, value: str) -> Candidates | None:
        if name == table.primary_key:
            return lambda: {value}
        column = table.by_read_name.get(name)
        if column is None or column.kind != "lookup":
            return None
        entity_set = table.entity_set
        return lambda: set(self.store.index(entity_set, name).get(value, set()))

    def _node(self, node: ast._Node) -> Predicate:
        if isinstance(node, ast.BoolOp):
            left, right = self._node(node.left), self._node(node.right)
            if isinstance(node.op, ast.And):
                return lambda row: left(row) and right(row)
            return lambda row: left(row) or right(row)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self._node(node.operand)
            return lambda row: not inner(row)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.CollectionLambda):
            raise errors.not_implemented("any/all lambda operators in $filter")
        if isinstance(node, ast.Identifier | ast.Attribute):
            getter, column = self._operand(node)
            if column.kind != "bool":
                raise errors.query_syntax("The $filter expression must evaluate to a single boolean value.")
            return lambda row: getter(row) is True
        raise errors.not_implemented(f"this $filter expression ({type(node).__name__})")

    def _operand(self, node: ast._Node) -> tuple[Getter, Column]:
        """A getter for a property (or a one-level single-valued navigation path) and its column."""
        if isinstance(node, ast.Identifier):
            if node.namespace:
                raise errors.not_implemented(f"the function or namespace '{node.full_name()}'")
            column = self.table.by_read_name.get(node.name)
            if column is None:
                raise errors.unknown_property(node.name, self.table.logical_name)
            key = column.read_name
            return (lambda row: row.get(key)), column
        if isinstance(node, ast.Attribute):
            owner = node.owner
            if not isinstance(owner, ast.Identifier) or owner.namespace:
                raise errors.not_implemented("navigation paths deeper than one level in $filter")
            nav = self.table.navigations.get(owner.name)
            if nav is None:
                if owner.name in self.table.collections:
                    raise errors.not_implemented("collection-valued navigation properties in $filter")
                raise errors.unknown_property(owner.name, self.table.logical_name)
            lookup_column, target = nav
            target_table = self.store.table_for(target)
            self.touched.add(target_table.entity_set)
            column = target_table.by_read_name.get(node.attr)
            if column is None:
                raise errors.unknown_property(node.attr, target_table.logical_name)
            related = self.store.rows(target_table.entity_set)
            ref_key, type_key, attr = lookup_column.read_name, lookup_column.read_name + LOGICAL, node.attr

            def get(row: dict[str, Any]) -> Any:
                ref = row.get(ref_key)
                if ref is None or row.get(type_key) != target:
                    return None
                other = related.get(ref)
                return other.get(attr) if other is not None else None

            return get, column
        raise errors.not_implemented(f"this operand in $filter ({type(node).__name__})")

    def _literal(self, node: ast._Node, column: Column, kind: str) -> Any:
        """The literal converted to the column's Python type, or Dataverse's incompatible-types error."""
        if isinstance(node, ast.Null):
            return None
        expected = {
            "guid": (ast.GUID,),
            "lookup": (ast.GUID,),
            "string": (ast.String,),
            "int": (ast.Integer,),
            "choice": (ast.Integer,),
            "decimal": (ast.Integer, ast.Float),
            "bool": (ast.Boolean,),
            "datetime": (ast.DateTime, ast.Date),
            "dateonly": (ast.DateTime, ast.Date),
        }[column.kind]
        if not isinstance(node, expected):
            if isinstance(node, ast.List):
                raise errors.not_implemented("the 'in' operator (use Microsoft.Dynamics.CRM.In or 'or')")
            if not isinstance(node, ast._Literal):
                raise errors.not_implemented("comparing two properties in $filter")
            literal_type = {
                ast.String: "Edm.String",
                ast.Integer: "Edm.Int32",
                ast.Float: "Edm.Double",
                ast.Boolean: "Edm.Boolean",
                ast.GUID: "Edm.Guid",
                ast.DateTime: "Edm.DateTimeOffset",
                ast.Date: "Edm.Date",
            }.get(type(node), "Edm.Untyped")
            raise errors.query_syntax(
                "A binary operator with incompatible types was detected. Found operand types "
                f"'{column.edm_type}' and '{literal_type}' for operator kind '{kind}'."
            )
        if isinstance(node, ast.DateTime | ast.Date):
            return parse_datetime(node.val)
        if isinstance(node, ast.GUID):
            return node.val.lower()
        if isinstance(node, ast.String):
            return node.val.casefold()
        return node.py_val

    def _compare(self, node: ast.Compare) -> Predicate:
        op = type(node.comparator)
        if op not in _OPERATOR_KINDS:
            raise errors.not_implemented("the 'in' operator (use 'or')")
        left, right = node.left, node.right
        if isinstance(left, ast._Literal) and not isinstance(right, ast._Literal):
            left, right = right, left
            op = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}.get(op, op)
        getter, column = self._operand(left)
        if isinstance(right, ast.Identifier | ast.Attribute):
            return self._column_comparison(op, getter, column, right)
        literal = self._literal(right, column, _OPERATOR_KINDS[op])
        convert: Callable[[Any], Any]
        if column.kind in ("datetime", "dateonly"):
            convert = parse_datetime
        elif column.kind == "string":
            convert = str.casefold
        else:
            convert = _identity
        if literal is None:
            if op is ast.Eq:
                return lambda row: getter(row) is None
            if op is ast.NotEq:
                return lambda row: getter(row) is not None
            return lambda row: False
        compare = _COMPARE[op]

        def predicate(row: dict[str, Any]) -> bool:
            value = getter(row)
            if value is None:
                return op is ast.NotEq
            return bool(compare(convert(value), literal))

        return predicate

    def _column_comparison(
        self, op: type[ast._Comparator], getter: Getter, column: Column, right: ast._Node
    ) -> Predicate:
        """`firstname eq lastname`: two columns of the same row and type (rows with a null never match)."""
        other, other_column = self._operand(right)
        if other_column.edm_type != column.edm_type:
            raise errors.query_syntax(
                "A binary operator with incompatible types was detected. Found operand types "
                f"'{column.edm_type}' and '{other_column.edm_type}' "
                f"for operator kind '{_OPERATOR_KINDS[op]}'."
            )
        compare = _COMPARE[op]
        fold = str.casefold if column.kind == "string" else _identity

        def predicate(row: dict[str, Any]) -> bool:
            a, b = getter(row), other(row)
            return a is not None and b is not None and bool(compare(fold(a), fold(b)))

        return predicate

    def _call(self, node: ast.Call) -> Predicate:
        name = node.func.name
        if node.func.namespace or name not in _STRING_FUNCTIONS:
            raise errors.not_implemented(f"the $filter function '{node.func.full_name()}'")
        if len(node.args) != 2 or not isinstance(node.args[1], ast.String):
            raise errors.query_syntax(f"The function '{name}' expects a property and a string literal.")
        getter, column = self._operand(node.args[0])
        if column.kind != "string":
            raise errors.query_syntax(
                f"No function signature for the function with name '{name}' matches the specified arguments."
            )
        needle = node.args[1].val.casefold()
        pattern = like_regex(
            {"contains": f"%{needle}%", "startswith": f"{needle}%", "endswith": f"%{needle}"}[name]
        )

        def predicate(row: dict[str, Any]) -> bool:
            value = getter(row)
            return value is not None and pattern.fullmatch(value.casefold()) is not None

        return predicate


def like_regex(pattern: str) -> re.Pattern[str]:
    """SQL LIKE as Dataverse applies it to contains/startswith/endswith: `%` any run, `_` one
    character, `[set]`/`[^set]` one character of (not of) the set; `[%]` is a literal `%`.
    An unclosed `[` matches nothing."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                return re.compile(r"(?!)")
            members = pattern[i + 1 : end]
            negate = members.startswith("^") and len(members) > 1
            members = members[1:] if negate else members
            ranges = "".join(
                "-" if m == "-" and 0 < k < len(members) - 1 else re.escape(m) for k, m in enumerate(members)
            )
            out.append(f"[{'^' if negate else ''}{ranges}]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _identity(value: Any) -> Any:
    return value


def _intersect(a: set[str] | None, b: set[str] | None) -> set[str] | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _union(a: set[str] | None, b: set[str] | None) -> set[str] | None:
    if a is None or b is None:
        return None
    return a | b
