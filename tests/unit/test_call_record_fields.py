"""The call record's fields are defined once (callcenter/domain/call_record.py): the live record,
the history's row, the database table, the CSV header and the OpenAPI document all agree with it."""

from __future__ import annotations

import json
from pathlib import Path

from test_contact_center_domain import APP, World

from callcenter.domain.call_record import FIELDS, NOT_STORED, Csv, csv_columns, stored
from callcenter.history.db.database import CALL_FIELDS
from callcenter.history.db.schema import calls
from callcenter.server.http import api

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "callcenter" / "server" / "http" / "openapi.json"

# The JSON types a column of each SQLAlchemy python_type gives back (a JSON column: either).
COLUMN_HOLDS = {str: {"string"}, int: {"integer"}, float: {"number"}, bool: {"boolean"},
                dict: {"array", "object"}}
JSON_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array",
              dict: "object", type(None): "null"}
JSON_TYPES = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
              "array": (list,), "object": (dict,)}


def a_finished_record() -> dict:
    w = World({}, {"a1": {}})
    call = w.enqueue(customer="cust", attributes={"topic": "billing"})
    w.complete("a1", call)
    return w.center.finished[(APP, call)].record(w.clock())


def parts(record: dict, known: set[str], prefix: str = "") -> set[str]:
    """The record's keys as dotted paths, going into an object where ``known`` names its parts."""
    found = set()
    for key, value in record.items():
        path = prefix + key
        if isinstance(value, dict) and any(k.startswith(path + ".") for k in known):
            found |= parts(value, known, path + ".")
        else:
            found.add(path)
    return found


def test_every_part_of_the_live_record_is_stored_in_a_field_or_said_not_to_be():
    record = a_finished_record()
    sources = {f.source for f in FIELDS if f.source}
    assert not sources & set(NOT_STORED)
    assert parts(record, sources | set(NOT_STORED)) == sources | set(NOT_STORED)


def test_a_stored_row_takes_every_column_from_the_live_record():
    record = a_finished_record()
    row = stored(record)
    assert row["call_id"] == record["callId"] and row["customer_id"] == "cust"
    assert row["ring_attempts"] == len(record["attempts"]) == 1
    assert row["attributes"] == {"topic": "billing"}
    assert row["customer_name"] is None  # the widget gave no name: NULL, not ""
    assert row["recorded"] is False and row["priority"] == 0
    assert set(row) == {f.column for f in FIELDS} - {"kind"}
    for field in FIELDS:
        value = row.get(field.column)
        if value is None:
            assert field.nullable or field.source is None, field.column
        else:
            assert isinstance(value, JSON_TYPES[field.type]), field.column
            assert field.type == "boolean" or not isinstance(value, bool), field.column


def test_rows_missing_a_list_or_an_object_each_get_their_own_empty_one():
    first, second = stored({"callId": "c1"}), stored({"callId": "c2"})
    first["attempts"].append({"agent": "a1"})
    first["attributes"]["topic"] = "billing"
    assert second["attempts"] == [] and second["attributes"] == {}


def test_the_calls_table_has_a_column_for_every_field():
    columns = {c.name: c for c in calls.columns}
    assert set(columns) - {"app_id", "node"} == {f.column for f in FIELDS}
    for field in FIELDS:
        column = columns[field.column]
        assert column.nullable == field.nullable, field.column
        assert field.type in COLUMN_HOLDS[column.type.python_type], field.column


def test_the_api_names_and_the_csv_header_come_from_the_definition():
    assert CALL_FIELDS == {f.column: f.key for f in FIELDS}
    header = next(api._csv([])).splitlines()[0]
    assert header.split(",") == [f.key for f in FIELDS if f.csv]


# The export's header as operators' spreadsheets and scripts have it, written out here on purpose:
# everything else about the CSV comes from the definition, so without this a field reordered,
# added or taken out of the CSV there would change every export with all tests green. (The API's
# keys are held by the OpenAPI document, the table by the migrations.)
CSV_HEADER = ("callId,kind,queue,originalQueue,customerId,customerName,agent,type,priority,"
              "joinedAt,offeredAt,answeredAt,endedAt,wait,talk,hold,wrapUp,originalPosition,"
              "finalPosition,ringAttempts,outcome,endReason,endedBy,disposition,notes,rating,"
              "recorded,silentSeconds")
CSV_DATES = ("joinedAt", "offeredAt", "answeredAt", "endedAt")


def test_the_csv_header_and_its_date_columns_are_the_ones_exports_have_always_had():
    assert next(api._csv([])).splitlines()[0] == CSV_HEADER
    assert csv_columns(Csv.TIME) == CSV_DATES


def test_the_csv_writes_the_time_fields_as_iso_dates_and_the_others_as_stored():
    row = {f.key: 1_700_000_000.5 if f.type == "number" else None for f in FIELDS}
    header, line = next(api._csv([row])).splitlines()
    cells = dict(zip(header.split(","), line.split(","), strict=True))
    for field in FIELDS:
        if field.csv is Csv.TIME:
            assert cells[field.key] == "2023-11-14T22:13:20.500000+00:00", field.key
        elif field.csv is Csv.VALUE and field.type == "number":
            assert cells[field.key] == "1700000000.5", field.key


def test_the_openapi_call_schema_lists_every_field_with_its_type():
    schema = json.loads(OPENAPI.read_text())["components"]["schemas"]["Call"]["properties"]
    assert list(schema) == [f.key for f in FIELDS]
    for field in FIELDS:
        if "type" not in schema[field.key]:  # an enum alone, as `kind` is: the values' types
            declared = sorted({JSON_NAMES[type(v)] for v in schema[field.key]["enum"]})
        else:
            declared = schema[field.key]["type"]
        types = set(declared) if isinstance(declared, list) else {declared}
        assert types == ({field.type, "null"} if field.nullable else {field.type}), field.key
