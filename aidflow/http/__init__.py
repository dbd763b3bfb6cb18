"""The HTTP service (``aidflow serve``): the library's commands and queries over HTTP.

Import :mod:`aidflow.http.app` for the FastAPI application (needs the ``[http]`` extra);
:mod:`aidflow.office.tokens` (staff bearer tokens) needs only SQLAlchemy.
"""
