"""The ferry demo: train, register, promote, roll back and predict, on the embedded defaults.

Run it with ``./scripts/demo`` (it sets up its own virtual environment and FERRY_HOME).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rich.console import Console
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ferry import Registry

console = Console()


def evaluate(model: object, X, y) -> dict[str, float]:  # type: ignore[no-untyped-def]
    predictions = model.predict(X)  # type: ignore[attr-defined]
    return {"accuracy": accuracy_score(y, predictions), "f1": f1_score(y, predictions)}


def main() -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    train = X_train.assign(target=y_train)
    train.attrs["name"] = "sklearn.datasets.load_breast_cancer"
    registry = Registry()
    console.rule(f"ferry demo — registry at {registry.settings.home}")

    first = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X_train, y_train)
    v1 = registry.register(
        first, "cancer", input_example=X_test, metrics=evaluate(first, X_test, y_test),
        training_data=train, description="scaled logistic regression",
    )  # fmt: skip
    console.print(f"registered [bold]{v1.reference}[/] metrics={v1.metadata['performance']}")
    registry.set_alias("cancer", "production", v1.version, reason="first model")
    console.print(f"promoted   {v1.reference} to [bold]production[/]")

    second = RandomForestClassifier(n_estimators=100, random_state=0).fit(X_train, y_train)
    v2 = registry.register(
        second, "cancer", input_example=X_test, metrics=evaluate(second, X_test, y_test),
        training_data=train, description="random forest, 100 trees",
    )  # fmt: skip
    console.print(f"registered [bold]{v2.reference}[/] metrics={v2.metadata['performance']}")
    registry.set_alias("cancer", "production", v2.version, reason="challenger")
    console.print(f"promoted   {v2.reference} to [bold]production[/]")

    move = registry.rollback("cancer", "production", reason="demo: roll back")
    console.print(f"rolled back production: {move.from_version} -> {move.to_version}")

    live = registry.load("cancer@production")
    predictions = live.predict(X_test.head(5))
    console.print(
        f"cancer@production is {live.reference}; predictions for 5 rows: {predictions.tolist()}"
    )
    report = registry.verify()
    console.print(f"verify: {'ok' if report.ok else report.problems} ({report.files} files)")
    registry.close()

    ferry = str(Path(sys.executable).parent / "ferry")
    subprocess.run([ferry, "models", "versions", "cancer"], check=True)
    subprocess.run([ferry, "history", "cancer"], check=True)


if __name__ == "__main__":
    main()
