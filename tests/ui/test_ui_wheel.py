"""The wheel carries what the dashboard and ``/docs`` serve: templates, static files, Swagger UI.

A wheel built without them installs fine and then answers every page with a 500, so the package
data is checked in the built wheel itself, not in the source tree.
"""

from __future__ import annotations

from pathlib import Path

import ferry

PACKAGE = Path(ferry.__file__).parent
SHIPPED = ("ui/templates", "ui/static", "serving/swagger")


def _files(folder: str) -> list[str]:
    """Every file under ``ferry/<folder>`` in the source tree, as a wheel names it."""
    root = PACKAGE / folder
    return sorted(f"ferry/{path.relative_to(PACKAGE).as_posix()}" for path in root.rglob("*")
                  if path.is_file())  # fmt: skip


def test_the_wheel_ships_every_template_static_file_and_swagger_asset(
    built_wheel: list[str],
) -> None:
    names = set(built_wheel)
    for folder in SHIPPED:
        expected = _files(folder)
        assert expected, f"nothing under ferry/{folder} in the source tree"
        missing = [name for name in expected if name not in names]
        assert not missing, f"the wheel lacks {missing}"
    # the pages and assets the dashboard names by hand, so a renamed file cannot slip through
    for name in ("ui/templates/model.html", "ui/templates/base.html", "ui/static/ferry.css",
                 "ui/static/ferry.js", "serving/swagger/swagger-ui-bundle.js",
                 "serving/swagger/swagger-ui.css", "serving/swagger/LICENSE"):  # fmt: skip
        assert f"ferry/{name}" in names
