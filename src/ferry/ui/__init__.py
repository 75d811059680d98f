"""The web dashboard: pages over the registry, runs, drift checks and (in ``ferry serve``) live
figures, with Train, Promote and Roll back actions. Every asset ships inside this package.

Importing this package does nothing: ``ferry.ui.app.create_ui`` builds the pages (and imports
Jinja2) only when the dashboard is started or first asked for.
"""
