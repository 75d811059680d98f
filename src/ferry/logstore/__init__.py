"""The prediction log's storage: where its files live, how they are named, and how long they stay.

The server writes (``ferry.serving.capture``), the monitor reads (``ferry.training.prediction_log``)
and ``ferry retain --logs`` prunes, all through :class:`~ferry.logstore.store.LogStore`.
"""
