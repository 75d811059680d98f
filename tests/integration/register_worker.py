"""A registering process for the crash and concurrency tests.

Usage: ``python register_worker.py HOME CATALOG NAME COUNT``. Prints ``ready`` once imports are
done, waits for a line on stdin, then registers COUNT versions, printing each version number
as soon as its registration returned.
"""

from __future__ import annotations

import sys

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from ferry import Registry


def main() -> None:
    home, catalog, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=50).fit(X.iloc[:, :4], y)
    with Registry(home=home, catalog=catalog) as registry:
        print("ready", flush=True)
        sys.stdin.readline()
        for _ in range(count):
            version = registry.register(model, name, input_example=X.iloc[:20, :4])
            print(version.version, flush=True)


if __name__ == "__main__":
    main()
