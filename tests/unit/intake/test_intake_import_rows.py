"""Import rows: reading CSV/JSON and per-row validation (no database)."""

from __future__ import annotations

import json

import pytest

from services.intake.importer import category_id, read_rows, validate_row


def test_csv_rows_are_labelled_by_line() -> None:
    rows = read_rows("client_id,client_name,emails\na,A,x@y.org;z@y.org\nb,B,\n", "csv")
    assert [label for label, _ in rows] == ["line 2", "line 3"]
    row, errors = validate_row(rows[0][1], "RU")
    assert errors == [] and row is not None and row.emails == ["x@y.org", "z@y.org"]


def test_nested_and_flat_json() -> None:
    nested = {"clients": [{"id": "a", "name": "A", "contracts": ["C-1", {"number": "C-2", "product": "P"}],
                           "contacts": [{"name": "N", "phones": ["8 912 345 67 89"]}]},
                          {"id": "b", "name": "B"}]}
    rows = read_rows(json.dumps(nested), "json")
    assert [label for label, _ in rows] == ["client 1 contract 1", "client 1 contract 2", "client 1 contact 1",
                                            "client 2"]
    row, _ = validate_row(rows[2][1], "RU")
    assert row is not None and row.phones == ["+79123456789"]
    assert [label for label, _ in read_rows('[{"client_id": "a"}]', "json")] == ["item 1"]
    with pytest.raises(ValueError):
        read_rows('"nope"', "json")


def test_row_errors_name_the_problem() -> None:
    assert validate_row({"client_name": "A"}, "RU")[1] == ["client_id is required"]
    _, errors = validate_row({"client_id": "a", "client_name": "A", "emails": "bad", "phones": "1"}, "RU")
    assert errors == ["invalid e-mail 'bad'", "invalid phone number '1'"]
    _, errors = validate_row({"client_id": "a", "client_name": "A", "contact_name": "Nobody"}, "RU")
    assert errors == ["a contact person needs at least one e-mail, phone or chat id"]
    assert category_id("Premium Plus") == "premium-plus"
