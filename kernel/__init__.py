"""The small shared kernel: settings, database sessions, problem details, logs.

It imports nothing else of the project, so every building block can stand on it.
"""

from kernel.database import create_db_engine, session_scope
from kernel.pagination import Cursor, Page, decode_cursor, encode_cursor
from kernel.problems import Problem, problem_types
from kernel.settings import ServiceSettings

__all__ = [
    "Cursor",
    "Page",
    "Problem",
    "ServiceSettings",
    "create_db_engine",
    "decode_cursor",
    "encode_cursor",
    "problem_types",
    "session_scope",
]
