"""OData building: literals, identifiers, GUIDs, URL encoding — and no search text can change a filter."""

from __future__ import annotations

from urllib.parse import parse_qs
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from odata_query import ast
from odata_query.grammar import ODataLexer, ODataParser

from d365portal.crm.cases import scope_filter
from d365portal.crm.models import Scope
from d365portal.dataverse import odata
from d365portal.settings import FieldMap

ACCOUNT = UUID("5b1e6a2c-1f3d-ea11-a812-000d3a1b2c3d")
SCOPE = Scope(contact_id=UUID(int=1), account_id=ACCOUNT)


def parse(text: str) -> ast._Node:
    """The AST odata-query's parser builds for a $filter."""
    return ODataParser().parse(ODataLexer().tokenize(text))


def search_filter(text: str) -> odata.Expr:
    """The case list's filter: scope, open, and the search in number or title."""
    return odata.and_(
        scope_filter(SCOPE, FieldMap()),
        odata.eq("statecode", 0),
        odata.or_(odata.contains("ticketnumber", text), odata.contains("title", text)),
    )


def _with_literal(text: str) -> ast._Node:
    """The tree every search must produce: the filter built around a placeholder, `text` as the literal."""
    tree = parse(search_filter("PLACEHOLDER").text)

    def swap(node: object) -> object:
        if isinstance(node, ast.String) and node.val == "PLACEHOLDER":
            return ast.String(odata.like_text(text))
        if isinstance(node, ast.BoolOp):
            return ast.BoolOp(node.op, swap(node.left), swap(node.right))
        if isinstance(node, ast.Call):
            return ast.Call(node.func, [swap(a) for a in node.args])
        return node

    return swap(tree)


# Text as a visitor could type it, including quotes, OData keywords, URL syntax and odd spacing.
search_text = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc")), st.sampled_from(list("'\"()&#%+?=;,/$ "))
    ),
    max_size=40,
) | st.sampled_from(["') or true or ('", "x' or 1 eq 1", "'')", "%27", "a'b''c", "$filter=", "&$top=1"])


@settings(max_examples=300, deadline=None)
@given(search_text)
def test_no_search_text_changes_the_meaning_of_the_filter(text: str) -> None:
    built = search_filter(text)
    assert parse(built.text) == _with_literal(text)
    # …and after percent-encoding into a URL and decoding as a server does, the same holds.
    query = odata.encode_query({"$filter": built.text, "$select": "title"})
    decoded = parse_qs(query, keep_blank_values=True)
    assert decoded["$filter"] == [built.text] and decoded["$select"] == ["title"]


def test_search_wildcards_are_bracketed_so_dataverse_takes_them_literally() -> None:
    # Dataverse evaluates contains() as SQL LIKE: unescaped, "100%" would also find "1000".
    assert odata.contains("title", "100%_[x]").text == "contains(title,'100[%][_][[]x]')"
    assert odata.like_text("O'Brien") == "O'Brien"


def test_literals() -> None:
    assert odata.literal("O'Brien") == "'O''Brien'"
    assert odata.literal(None) == "null" and odata.literal(True) == "true"
    assert odata.literal(ACCOUNT) == str(ACCOUNT)
    assert odata.eq("name", "a'b").text == "name eq 'a''b'"


@pytest.mark.parametrize("bad", ["name eq 1", "name)", "na-me", "", "1abc", "a//b", "x;y"])
def test_column_names_must_be_identifiers(bad: str) -> None:
    with pytest.raises(ValueError):
        odata.identifier(bad)


def test_guids_are_validated() -> None:
    with pytest.raises(ValueError):
        odata.entity_path("incidents", "1 or 1 eq 1")
    assert odata.bind("accounts", str(ACCOUNT)) == f"/accounts({ACCOUNT})"


def test_encoded_query_escapes_what_would_end_an_option() -> None:
    encoded = odata.encode_query({"$filter": "contains(title,'a&b#c+d%e f')"})
    assert encoded == "$filter=contains(title,'a%26b%23c%2Bd%25e%20f')"


def test_reserved_characters_inside_a_literal_are_percent_encoded_as_microsoft_lists_them() -> None:
    encoded = odata.encode_query(
        {"$filter": "contains(title,'a$b,c/d:e;f=g?h@i''j') and customerid_account/_x_value eq null"}
    )
    assert encoded == (
        "$filter=contains(title,'a%24b%2Cc%2Fd%3Ae%3Bf%3Dg%3Fh%40i''j')%20and%20"
        "customerid_account/_x_value%20eq%20null"
    )
    assert odata.encode_query({"$select": "a,b", "$expand": "nav($select=c)"}) == (
        "$select=a,b&$expand=nav($select%3Dc)"
    )
