"""The HTTP service (``aidflow serve``): the library's commands and queries over HTTP.

Import :mod:`aidflow.http.app` for the FastAPI application (needs the ``[http]`` extra);
staff bearer tokens are recorded in the staff registry (``aidflow staff token``).
"""
