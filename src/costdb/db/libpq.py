"""Just enough libpq, through ctypes: parse a connection URL, connect and run one query.

Why not psycopg here: the one-shot health probe is compared against ``pg_isready``, and
importing psycopg alone takes longer than ten ``pg_isready`` runs. Settings and the CLI probe
need a handful of libpq calls, so they load libpq itself: the very library psycopg wraps
(psycopg-binary's bundled copy when installed, else the system's ``libpq.so.5``), with
libpq's own URL parsing, ``connect_timeout`` and error messages. Everything that keeps a
connection (the HTTP server, migrations) uses psycopg.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os.path

_CONNECTION_OK = 0
_PGRES_TUPLES_OK = 2
_PG_DIAG_SQLSTATE = ord("C")


class LibpqError(Exception):
    """A libpq failure: its message, and the SQLSTATE when the server sent one."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _library_path() -> str:
    spec = importlib.util.find_spec("psycopg_binary")
    if spec is not None and spec.origin is not None:
        site = os.path.dirname(os.path.dirname(spec.origin))
        bundled = os.path.join(site, "psycopg_binary.libs")
        names = sorted(os.listdir(bundled)) if os.path.isdir(bundled) else []
        candidates = [name for name in names if name.startswith("libpq") and ".so" in name]
        if candidates:
            return os.path.join(bundled, candidates[0])
    return "libpq.so.5"


class _ConninfoOption(ctypes.Structure):
    _fields_ = (
        ("keyword", ctypes.c_char_p),
        ("envvar", ctypes.c_char_p),
        ("compiled", ctypes.c_char_p),
        ("val", ctypes.c_char_p),
        ("label", ctypes.c_char_p),
        ("dispchar", ctypes.c_char_p),
        ("dispsize", ctypes.c_int),
    )


@functools.cache
def _load() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL(_library_path())
    except OSError as exc:
        raise LibpqError(f"cannot load libpq: {exc}") from None
    pointer, text = ctypes.c_void_p, ctypes.c_char_p
    for name, restype, argtypes in (
        ("PQconnectdb", pointer, [text]),
        ("PQstatus", ctypes.c_int, [pointer]),
        ("PQerrorMessage", text, [pointer]),
        ("PQexec", pointer, [pointer, text]),
        ("PQresultStatus", ctypes.c_int, [pointer]),
        ("PQresultErrorMessage", text, [pointer]),
        ("PQresultErrorField", text, [pointer, ctypes.c_int]),
        ("PQntuples", ctypes.c_int, [pointer]),
        ("PQgetvalue", text, [pointer, ctypes.c_int, ctypes.c_int]),
        ("PQclear", None, [pointer]),
        ("PQfinish", None, [pointer]),
        ("PQconninfoParse", ctypes.POINTER(_ConninfoOption), [text, ctypes.POINTER(pointer)]),
        ("PQconninfoFree", None, [ctypes.POINTER(_ConninfoOption)]),
        ("PQfreemem", None, [pointer]),
    ):
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


def parse_conninfo(conninfo: str) -> dict[str, str]:
    """The keywords libpq reads from a connection string or URL (only those that are set)."""
    lib = _load()
    error = ctypes.c_void_p()
    options = lib.PQconninfoParse(conninfo.encode(), ctypes.byref(error))
    if not options:
        message = ctypes.cast(error, ctypes.c_char_p).value if error.value else None
        lib.PQfreemem(error)
        raise LibpqError((message or b"invalid connection string").decode(errors="replace").strip())
    try:
        parsed = {}
        index = 0
        while options[index].keyword is not None:
            option = options[index]
            if option.val is not None:
                parsed[option.keyword.decode()] = option.val.decode()
            index += 1
        return parsed
    finally:
        lib.PQconninfoFree(options)


def query_one_value(conninfo: str, query: bytes) -> str:
    """Connect with ``conninfo``, run ``query``, return the first column of its first row."""
    lib = _load()
    connection = lib.PQconnectdb(conninfo.encode())
    try:
        if connection is None:
            raise LibpqError("out of memory allocating a libpq connection")
        if lib.PQstatus(connection) != _CONNECTION_OK:
            raise LibpqError(lib.PQerrorMessage(connection).decode(errors="replace").strip())
        result = lib.PQexec(connection, query)
        try:
            if lib.PQresultStatus(result) != _PGRES_TUPLES_OK or lib.PQntuples(result) < 1:
                message = lib.PQresultErrorMessage(result) or lib.PQerrorMessage(connection)
                sqlstate = lib.PQresultErrorField(result, _PG_DIAG_SQLSTATE)
                raise LibpqError(
                    message.decode(errors="replace").strip() or "the query returned no row",
                    sqlstate.decode() if sqlstate else None,
                )
            return str(lib.PQgetvalue(result, 0, 0).decode())
        finally:
            lib.PQclear(result)
    finally:
        if connection is not None:
            lib.PQfinish(connection)
