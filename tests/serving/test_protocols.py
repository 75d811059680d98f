"""The protocols' contract: the same bad input answers the same way through every protocol."""

from __future__ import annotations

import functools
import json

import anyio.from_thread
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.errors import InvalidInput
from ferry.serving.inputs import InputSpec
from ferry.serving.protocols import mlflow, plain, v2

pytestmark = pytest.mark.anyio

ROW = [1.0] * 30
ONE_TENSOR = {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP32", "data": ROW}]}


@pytest.mark.parametrize(
    ("overrides", "params", "body", "status", "code"),
    [
        ({}, {}, {"instances": [[1.0]]}, 400, "BAD_REQUEST"),
        ({}, {"model": "ghost"}, {"instances": [ROW]}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ({"max_body_bytes": 64}, {}, {"instances": [ROW]}, 413, "BAD_REQUEST"),
    ],
)
async def test_invocations_error_codes_match_the_status(
    serve, overrides, params, body, status, code
):
    async with serve(**overrides) as (client, _server):
        response = await client.post("/invocations", json=body, params=params)
    assert response.status_code == status
    assert response.json()["error_code"] == code


async def test_invocations_while_the_model_is_unavailable_is_temporarily_unavailable(
    serve_registry, sqlite_registry
):
    async with serve_registry(sqlite_registry, models=("ghost@production",)) as (client, _):
        response = await client.post("/invocations", json={"instances": [ROW]})
    assert response.status_code == 503
    assert response.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
    assert "ghost@production is not available" in response.json()["message"]


# -- one contract, every protocol -------------------------------------------------------

NAMES: list[str] = []  # the cancer features, filled by the fixture below


@pytest.fixture(autouse=True)
def feature_names(cancer):
    NAMES[:] = list(cancer[0].columns)


def _rows(cell):
    return lambda: [[cell(v) for v in ROW]]


def _records(cell):
    return lambda: [{name: cell(1.0) for name in NAMES}]


def _through_every_protocol(rows, records, columns):
    """One bad batch written in each protocol's shape: (path, body, status)."""
    return [
        ("/predict", lambda: {"rows": rows()}, 422),
        ("/predict", lambda: {"records": records()}, 422),
        ("/invocations", lambda: {"dataframe_split": {"columns": NAMES, "data": rows()}}, 400),
        ("/invocations", lambda: {"dataframe_records": records()}, 400),
        ("/invocations", lambda: {"instances": rows()}, 400),
        ("/invocations", lambda: {"instances": records()}, 400),
        ("/invocations", lambda: {"inputs": columns()}, 400),
    ]


NESTED = _through_every_protocol(
    _rows(lambda v: [v]),
    _records(lambda v: [v]),
    lambda: {name: [[1.0]] for name in NAMES},
)
NOT_A_LIST = [
    ("/predict", {"rows": "abc"}, 422, "'rows' must be a list of rows (lists of 30 values), got a string"),
    ("/predict", {"records": {"a": 1}}, 422, "'records' must be a list of records ({feature: value} objects), got an object: wrap one in a list"),
    ("/predict", {"rows": [5]}, 422, "row 0 must be a list of 30 values, got a number"),
    ("/invocations", {"instances": 5}, 400, "'instances' must be a list of rows (lists of 30 values), got a number"),
    ("/invocations", {"inputs": "x"}, 400, "'inputs' must be a list of rows"),
    ("/invocations", {"dataframe_records": {"a": 1}}, 400, "'dataframe_records' must be a list of records"),
    ("/invocations", {"dataframe_split": {"data": 5}}, 400, "'dataframe_split.data' must be a list of rows, got a number"),
    ("/invocations", {"dataframe_split": 5}, 400, "'dataframe_split' must be a JSON object"),
    ("/invocations", {"dataframe_split": {"columns": ["a", "a"], "data": [[1.0, 2.0]]}}, 400, "'columns' names 'a' twice"),
    ("/invocations", {"instances": [ROW], "params": 5}, 400, "'params' must be an object"),
    ("/v1/models/cancer:predict", {"instances": [ROW], "parameters": []}, 400, "'parameters' must be an object"),
    ("/v2/models/cancer/infer", {**ONE_TENSOR, "outputs": 5}, 400, "'outputs' must be a list"),
    ("/v2/models/cancer/infer", {**ONE_TENSOR, "outputs": [5]}, 400, "'outputs[0]' must be a JSON object"),
    ("/v2/models/cancer/infer", {**ONE_TENSOR, "outputs": [{"name": "predict", "parameters": 1}]}, 400, "output 0: 'parameters' must be an object"),
    ("/v2/models/cancer/infer", {**ONE_TENSOR, "parameters": "x"}, 400, "the request: 'parameters' must be an object"),
    ("/v2/models/cancer/infer", {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": 5}]}, 400, "input 'x': 'data' must be a list of values"),
]  # fmt: skip
V2 = "/v2/models/cancer/infer"


def _tensor(shape, datatype, data):
    return {"inputs": [{"name": "x", "shape": shape, "datatype": datatype, "data": data}]}


V2_CASES = [
    (_tensor([3, 6148914691236517206], "FP32", [1.0, 2.0]), "2 values do not fill shape"),
    (_tensor([1, 30], "FP16", [1e6] * 30), "a value is out of range for FP16"),
    (_tensor([1, 30], "FP32", [1e39] * 30), "a value is out of range for FP32"),
    (_tensor([1, 30], "INT64", [2**70] * 30), "a value is out of range for INT64"),
    (_tensor([1, 30], "UINT8", [-1] * 30), "a value is out of range for UINT8"),
    (_tensor([1, 30], "INT32", [1.5] * 30), "does not match datatype INT32: send integers"),
    (_tensor([1, 30], "BOOL", ["abc"] * 30), "does not match datatype BOOL"),
    (_tensor([1, 30], "FP32", [[1.0, [2.0]]] * 15), "evenly nested list"),
    (_tensor([1, 30], "FP32", [None] * 30), "'data' holds null"),
]


def _no_traceback(caplog):
    return not [record for record in caplog.records if record.exc_info]


@pytest.mark.parametrize(("path", "body", "status"), NESTED)
async def test_values_that_are_lists_are_refused_naming_the_feature(
    serve, caplog, path, body, status
):
    async with serve() as (client, _server):
        response = await client.post(path, json=body())
    assert response.status_code == status, response.text
    assert "feature 'mean radius' in row 0 must be a number, got [" in response.text
    assert _no_traceback(caplog)


@pytest.mark.parametrize(("path", "body", "status", "message"), NOT_A_LIST)
async def test_a_field_of_the_wrong_kind_is_named(serve, caplog, path, body, status, message):
    async with serve() as (client, _server):
        response = await client.post(path, json=body)
    assert response.status_code == status, response.text
    assert message in response.text
    assert "the batch is empty" not in response.text
    assert _no_traceback(caplog)


@pytest.mark.parametrize(("body", "message"), V2_CASES)
async def test_v2_tensors_that_do_not_hold_their_datatype_are_400(serve, caplog, body, message):
    async with serve() as (client, _server):
        response = await client.post(V2, json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]
    assert _no_traceback(caplog)


async def test_a_csv_header_naming_a_feature_twice_is_refused(serve, cancer):
    frame = cancer[0].head(2)
    header = ",".join([*frame.columns[:-1], frame.columns[0]])
    body = header + "\n" + frame.to_csv(index=False, header=False)
    async with serve() as (client, _server):
        response = await client.post(
            "/invocations", content=body.encode(), headers={"content-type": "text/csv"}
        )
    assert response.status_code == 400
    assert "the CSV header names 'mean radius' twice" in response.json()["message"]


# -- fuzzing: any JSON, any shape -------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)  # fmt: skip
SPECS = [
    InputSpec(("a", "b"), 2, (True, True), "float64"),
    InputSpec(("a", "plan"), 2, (True, False), "float64"),
    InputSpec(None, 3, (True, True, True), "float32"),
]


FLOATS = st.floats(min_value=-1e6, max_value=1e6)
CELLS = [  # one kind per batch, so that a whole batch can be wrong the same way
    FLOATS,
    st.lists(FLOATS, min_size=1, max_size=1),
    st.lists(FLOATS, min_size=2, max_size=2),
    SCALARS,
    JSON,
]


def _rows(width):
    """Rows of the right width, every cell of one kind: the deep paths, not the first check."""
    return st.sampled_from(CELLS).flatmap(
        lambda cell: st.lists(st.lists(cell, min_size=width, max_size=width), min_size=1, max_size=3)
    )  # fmt: skip


def _records(names):
    return st.sampled_from(CELLS).flatmap(
        lambda cell: st.lists(st.fixed_dictionaries(dict.fromkeys(names, cell)), min_size=1, max_size=3)
    )  # fmt: skip


def _columns(names):
    return st.sampled_from(CELLS).flatmap(
        lambda cell: st.fixed_dictionaries({name: st.lists(cell, min_size=1, max_size=1) for name in names})
    )  # fmt: skip


def _batches(names, width):
    return _rows(width) | _records(names) | _columns(names) | JSON


def _plain(names, width):
    return st.fixed_dictionaries({"rows": _rows(width) | JSON}) | st.fixed_dictionaries(
        {"records": _records(names) | JSON}
    )


def _mlflow(names, width):
    shape = st.sampled_from(sorted(mlflow.SHAPES))
    columns = st.permutations(names) | st.lists(st.sampled_from(names), max_size=3) | JSON
    split = st.fixed_dictionaries({"columns": columns, "data": _rows(width) | JSON})
    single = st.builds(lambda key, value: {key: value}, shape, _batches(names, width))
    return single | st.builds(lambda value: {"dataframe_split": value}, split)


def _tensor(name, rows, datatype):
    return {"name": name, "shape": [len(rows), len(rows[0])], "datatype": datatype, "data": rows}


def _v2(names, width):
    datatype = st.sampled_from(sorted(v2.DATATYPES))
    anything = st.fixed_dictionaries(
        {
            "name": st.sampled_from(["x", *names]),
            "shape": st.lists(st.integers(min_value=0, max_value=2**63), min_size=1, max_size=3),
            "datatype": datatype,
            "data": _rows(width) | st.lists(SCALARS, max_size=width * 2) | JSON,
        }
    )
    whole = st.builds(_tensor, st.just("x"), _rows(width), datatype)
    per_feature = st.lists(st.builds(_tensor, st.sampled_from(names), _rows(1), datatype))
    inputs = st.lists(anything | whole, min_size=1, max_size=3) | per_feature
    return st.fixed_dictionaries({"inputs": inputs})


def _accepted(array, spec):
    """What every protocol hands the model: one row per request row, one scalar per feature."""
    assert array.ndim == 2 and array.shape[1] == spec.width and array.shape[0] >= 1
    if array.dtype == np.float64:
        assert np.isfinite(array).all()
    else:
        assert all(isinstance(cell, str | int | float | bool) for cell in array.ravel())


@pytest.mark.parametrize("spec", SPECS, ids=["numeric", "mixed", "tensor"])
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_json_is_rows_the_model_takes_or_an_invalid_input(spec, data):
    protocol = data.draw(st.sampled_from(["plain", "mlflow", "v2"]))
    strategy = {"plain": _plain, "mlflow": _mlflow, "v2": _v2}[protocol]
    body = data.draw(strategy(list(spec.column_names), spec.width))
    try:
        if protocol == "plain":
            array = plain.parse(body, spec)
        elif protocol == "mlflow":
            array = mlflow.parse(json.dumps(body).encode(), "application/json", spec)
        else:
            array = v2.parse(body, spec)[0]
    except InvalidInput:
        return
    _accepted(array, spec)


def test_fuzzed_requests_never_answer_500(serve, caplog):
    """Through the real app and model: anything a client sends is answered, never a 500."""
    names = NAMES
    bodies = {"/predict": _plain(names, 30), "/invocations": _mlflow(names, 30), V2: _v2(names, 30)}
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve()) as (client, _server),
    ):

        @settings(max_examples=150, deadline=None)
        @given(path=st.sampled_from(sorted(bodies)), data=st.data())
        def answers(path, data):
            body = data.draw(bodies[path])
            response = portal.call(functools.partial(client.post, path, json=body))
            assert response.status_code < 500, response.text
            assert response.headers["content-type"] == "application/json"

        answers()
    assert _no_traceback(caplog)
