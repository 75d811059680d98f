"""The OpenAPI document of ``ferry serve``: request, response and error schemas per protocol.

Written once, as plain JSON Schema dicts (one module per protocol), and assembled by
:mod:`ferry.serving.openapi.document` on the first ``GET /openapi.json``: nothing here is
imported before a server answers its first prediction.
"""
