"""scikit-learn models as ONNX graphs (skl2onnx), for the three kinds of input ferry serves:
one numeric table, one text per row (a Pipeline starting with TfidfVectorizer), and named
columns of text, categories and numbers (a ColumnTransformer with a OneHotEncoder).

skl2onnx reproduces only some of scikit-learn's text and encoder options. A model using one
it would not reproduce is refused here with the reason (:class:`Unsupported`: the server
then serves it natively and says why), rather than compiled into a graph that answers the
stored example alike and some later request differently.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ferry.errors import Unsupported
from ferry.flavors.onnx import LOWERCASE_PROPERTY

WORDS = r"[\p{L}\p{N}_]"
"""Python's ``\\w`` on text in re2's syntax (onnxruntime's tokenizer): letters, numbers and
``_``. re2's own ``\\w`` and ``\\b`` are ASCII-only, so ``café`` would become ``caf``."""
TOKEN_PATTERNS = {
    r"(?u)\b\w\w+\b": WORDS + "{2,}",
    r"\b\w\w+\b": WORDS + "{2,}",
    r"(?u)\b\w+\b": WORDS + "+",
    r"\b\w+\b": WORDS + "+",
}
"""The token patterns ferry compiles, and the re2 expression finding the same tokens: a
maximal run of word characters is one token in both (runs shorter than the minimum are
dropped in both)."""


def to_onnx_graph(model: Any, example: Any) -> bytes:
    """The graph of ``model`` taking ``example``'s kind of input: a Series (one text a row), a
    frame with text or category columns (one graph input per column, named after it), or one
    numeric table (one float tensor ``X``)."""
    if getattr(example, "ndim", None) == 1 and hasattr(example, "name"):
        return _text_graph(model, str(example.name))
    dtypes = getattr(example, "dtypes", None)
    if dtypes is not None and not all(dtype.kind in "biuf" for dtype in dtypes):
        return _columns_graph(model, example)
    rows = np.asarray(example)
    if rows.ndim != 2 or rows.dtype.kind not in "biuf":
        raise Unsupported("its inputs are not one table of numbers, columns or texts")
    return numeric_graph(model, rows.shape[1])


def numeric_graph(model: Any, width: int) -> bytes:
    """Convert a fitted estimator taking ``width`` float features to ONNX (skl2onnx).

    Inputs are one float32 tensor ``X``; classifiers get plain probability tensors (no ZipMap),
    which onnxruntime returns as arrays without building Python dicts per row.
    """
    from skl2onnx import to_onnx
    from sklearn.base import is_classifier

    sample = np.zeros((1, width), dtype=np.float32)
    options = {"zipmap": False} if is_classifier(model) else None
    proto = to_onnx(model, sample, options=options, target_opset=None)
    data: bytes = proto.SerializeToString()
    return data


def _text_graph(model: Any, column: str) -> bytes:
    """A text model's graph taking one string a row as input ``column``.

    Lowercasing stays out of the graph: onnxruntime's StringNormalizer needs a locale that
    images often lack and lowercases ``İ`` and a final ``Σ`` unlike Python, so the graph
    records (``ferry.lowercase``) that the runner lowercases with ``str.lower`` first, exactly
    as scikit-learn does.
    """
    from skl2onnx.common.data_types import StringTensorType

    converted = copy.deepcopy(model)
    vectorizer = _first_step(converted)
    if not _is_vectorizer(vectorizer):
        raise Unsupported(
            f"it takes texts but starts with a {type(vectorizer).__name__}; ferry compiles "
            "text models that start with TfidfVectorizer or CountVectorizer"
        )
    why = text_refusal(vectorizer)
    if why is not None:
        raise Unsupported(f"its {type(vectorizer).__name__} {why}, so it is served natively")
    lowercase = bool(vectorizer.lowercase)
    vectorizer.lowercase = False
    options = {id(vectorizer): {"tokenexp": TOKEN_PATTERNS[vectorizer.token_pattern]}}
    graph = _convert(converted, [(column, StringTensorType([None, 1]))], options)
    if lowercase:
        _set_property(graph, LOWERCASE_PROPERTY, column)
    data: bytes = graph.SerializeToString()
    return data


def text_refusal(vectorizer: Any) -> str | None:
    """Why skl2onnx's tokenizer would split texts unlike ``vectorizer``, or None."""
    if vectorizer.analyzer != "word":
        return f"has analyzer={vectorizer.analyzer!r}; ONNX tokenizes words only"
    if vectorizer.preprocessor is not None or vectorizer.tokenizer is not None:
        return "has a custom preprocessor or tokenizer (Python code, not in ONNX)"
    if vectorizer.strip_accents is not None:
        return f"has strip_accents={vectorizer.strip_accents!r}, which onnxruntime cannot do"
    if vectorizer.input != "content":
        return f"has input={vectorizer.input!r}; ONNX takes the texts themselves"
    if vectorizer.token_pattern not in TOKEN_PATTERNS:
        return (
            f"has token_pattern={vectorizer.token_pattern!r}; ferry compiles only the word "
            f"patterns it can translate to re2 exactly ({sorted(TOKEN_PATTERNS)})"
        )
    if vectorizer.stop_words is not None and vectorizer.ngram_range[1] > 1:
        return (
            "has stop words with n-grams: scikit-learn drops stop words before joining "
            "n-grams, the ONNX graph does not"
        )
    return None


def _columns_graph(model: Any, frame: Any) -> bytes:
    """A graph taking one input per column: strings for text and category columns, int64 and
    float32 for numbers."""
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType

    parts = list(_walk(model))
    if any(_is_vectorizer(part) for part in parts):
        raise Unsupported(
            "a text vectorizer sits among other columns; ferry compiles text models that take "
            "one text per row, so it is served natively"
        )
    if any(getattr(part, "_infrequent_enabled", False) for part in parts):
        raise Unsupported(
            "an encoder groups infrequent categories, which the ONNX OneHotEncoder does not "
            "(an unseen category fails there), so it is served natively"
        )
    types: list[tuple[str, Any]] = []
    for name, dtype in frame.dtypes.items():
        if dtype.kind == "f":
            types.append((str(name), FloatTensorType([None, 1])))
        elif dtype.kind in "iu":
            types.append((str(name), Int64TensorType([None, 1])))
        elif dtype.kind == "O" or str(dtype) in ("string", "str", "category"):
            types.append((str(name), StringTensorType([None, 1])))
        else:
            raise Unsupported(f"column {name!r} is {dtype}; ONNX takes text and numbers")
    data: bytes = _convert(model, types, {}).SerializeToString()
    return data


def _convert(model: Any, types: list[tuple[str, Any]], options: dict[int, Any]) -> Any:
    """skl2onnx's graph for ``types`` inputs; a classifier answers plain probability tensors."""
    from skl2onnx import convert_sklearn
    from sklearn.base import is_classifier

    last = model.steps[-1][1] if hasattr(model, "steps") else model
    if is_classifier(last):
        options = {**options, id(last): {"zipmap": False}}
    return convert_sklearn(model, initial_types=types, options=options, target_opset=None)


def _set_property(graph: Any, key: str, value: str) -> None:
    import onnx

    kept = {prop.key: prop.value for prop in graph.metadata_props}
    onnx.helper.set_model_props(graph, {**kept, key: value})


def _first_step(model: Any) -> Any:
    return model.steps[0][1] if hasattr(model, "steps") else model


def _is_vectorizer(step: Any) -> bool:
    from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer

    return isinstance(step, CountVectorizer | HashingVectorizer)


def _walk(model: Any) -> Any:
    """Every estimator inside ``model`` (Pipeline steps, ColumnTransformer parts), itself too."""
    yield model
    for _, part in getattr(model, "steps", []):
        yield from _walk(part)
    for _, part, *_ in getattr(model, "transformers_", []):
        if hasattr(part, "get_params"):
            yield from _walk(part)
