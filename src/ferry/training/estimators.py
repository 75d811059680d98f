"""Estimators named in a pipeline file, built without running anything the file could inject.

A pipeline file names a class by its dotted path. The class is imported only when that path lies
under an allowed module prefix (scikit-learn, XGBoost and LightGBM by default); the prefixes come
from the caller (the CLI reads ``FERRY_ESTIMATOR_PREFIXES``), never from the file itself, so a
file cannot widen them. Parameters are plain TOML values, so nothing else is evaluated.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from ferry.errors import InvalidInput

DEFAULT_PREFIXES = ("sklearn", "xgboost", "lightgbm")
"""Module prefixes whose classes a pipeline file may name."""


def check_prefixes(prefixes: Sequence[str]) -> tuple[str, ...]:
    """Normalise prefixes to module names (``"sklearn."`` and ``"sklearn"`` mean the same)."""
    cleaned = tuple(prefix.strip().rstrip(".") for prefix in prefixes if prefix.strip())
    for prefix in cleaned:
        if not all(part.isidentifier() for part in prefix.split(".")):
            raise InvalidInput(f"invalid estimator module prefix {prefix!r}: use e.g. 'sklearn'")
    if not cleaned:
        raise InvalidInput("no estimator module prefix is allowed: give at least one, e.g. sklearn")
    return cleaned


def resolve_class(path: str, prefixes: Sequence[str], key: str) -> type[Any]:
    """The estimator class at ``path``, imported only under an allowed prefix."""
    allowed = check_prefixes(prefixes)
    if not any(path == prefix or path.startswith(prefix + ".") for prefix in allowed):
        raise InvalidInput(
            f"{key} = {path!r} is outside the allowed module prefixes {list(allowed)}; "
            "allow more with FERRY_ESTIMATOR_PREFIXES"
        )
    module_name, _, class_name = path.rpartition(".")
    if not class_name.isidentifier() or class_name.startswith("_"):
        raise InvalidInput(f"{key} = {path!r} does not name a public class")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InvalidInput(f"{key} = {path!r}: cannot import {module_name!r} ({error})") from None
    found = getattr(module, class_name, None)
    if not isinstance(found, type) or not callable(getattr(found, "fit", None)):
        raise InvalidInput(f"{key} = {path!r} is not an estimator class (a class with fit)")
    return found


def make_estimator(path: str, params: Mapping[str, Any], prefixes: Sequence[str], key: str) -> Any:
    """Instantiate the class at ``path`` with ``params`` (a mistyped name fails here, early)."""
    cls = resolve_class(path, prefixes, f"{key}.class")
    try:
        estimator = cls(**params)
    except TypeError as error:
        raise InvalidInput(f"{key}.params: {error}") from None
    check_param_values(estimator, params, f"{key}.params")
    return estimator


def check_param_values(estimator: Any, params: Mapping[str, Any], key: str) -> None:
    """Check values against the estimator's declared parameter constraints now, not at ``fit``
    after the data is read: ``max_iter = "lots"`` fails when the file loads, naming the key.

    scikit-learn estimators declare ``_parameter_constraints``; classes without them (other
    libraries) are checked by their own ``fit``.
    """
    for name, value in params.items():
        check_param_value(estimator, name, value, f"{key}.{name}")


def check_param_value(estimator: Any, name: str, value: Any, label: str) -> None:
    """One value against ``estimator``'s constraint for ``name``; ``label`` names the key."""
    constraints = getattr(estimator, "_parameter_constraints", None)
    if not isinstance(constraints, dict) or name not in constraints:
        return
    from sklearn.utils._param_validation import (
        InvalidParameterError,
        validate_parameter_constraints,
    )

    try:
        validate_parameter_constraints(
            {name: constraints[name]}, {name: value}, caller_name=type(estimator).__name__
        )
    except InvalidParameterError as error:
        raise InvalidInput(f"{label} = {value!r}: {error}") from None


def make_pipeline(
    steps: Sequence[tuple[str, str, Mapping[str, Any]]],
    params: Mapping[str, Any],
    prefixes: Sequence[str],
) -> Any:
    """A scikit-learn Pipeline of ``(name, class path, params)`` steps, then ``params`` set on it."""
    from sklearn.pipeline import Pipeline

    built = [
        (name, make_estimator(path, step_params, prefixes, f"estimator.steps[{index}]"))
        for index, (name, path, step_params) in enumerate(steps)
    ]
    try:
        pipeline = Pipeline(built)
        pipeline = pipeline.set_params(**params) if params else pipeline
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"estimator.steps: {error}") from None
    for name, value in params.items():
        owner, parameter = _owner(pipeline, name)
        check_param_value(owner, parameter, value, f"estimator.params.{name}")
    return pipeline


def _owner(estimator: Any, name: str) -> tuple[Any, str]:
    """The (sub-)estimator a ``step__param`` name sets, and the parameter's own name."""
    path, _, parameter = name.rpartition("__")
    if not path:
        return estimator, parameter
    return estimator.get_params(deep=True)[path], parameter


def check_search_params(estimator: Any, grid: Mapping[str, Sequence[Any]]) -> None:
    """Every searched name must be a parameter of the estimator (``step__param`` in a Pipeline)."""
    known = set(estimator.get_params(deep=True))
    for name in grid:
        if name not in known:
            close = sorted(option for option in known if name.split("__")[-1] in option)[:5]
            hint = f"; did you mean one of {close}?" if close else ""
            raise InvalidInput(
                f"search.params.{name}: {type(estimator).__name__} has no parameter {name!r}{hint}"
            )
        owner, parameter = _owner(estimator, name)
        for option in grid[name]:
            check_param_value(owner, parameter, option, f"search.params.{name}")


def infer_task(estimator: Any) -> str:
    """Classification, regression or clustering, from scikit-learn's estimator tags."""
    from sklearn.base import is_classifier, is_clusterer, is_regressor

    if is_classifier(estimator):
        return "classification"
    if is_regressor(estimator):
        return "regression"
    if is_clusterer(estimator):
        return "clustering"
    raise InvalidInput(
        f"cannot tell the task of {type(estimator).__name__}: set evaluation.task to "
        "classification, regression or clustering"
    )
