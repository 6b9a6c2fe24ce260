"""Load every installed extension's library into the migrating session, before any revision.

An extension's C library defines its parameters (pgvector's ``hnsw.*`` and ``ivfflat.*``) when
a session loads it, and a session loads it only when it first uses something of the extension.
Until then such a name is a placeholder, and PostgreSQL lets only a superuser store a
placeholder in an object (``CREATE FUNCTION ... SET hnsw.ef_search = 100``): it cannot know
whether the real parameter will turn out to be superuser-only. A session that creates the
extension or a vector column has loaded the library; one that starts from a later revision as
the schema's non-superuser owner has not, so every upgrade of an existing database failed at
0005 (issue 19). With every library loaded first, each revision sees the real parameters,
whatever revision the session starts from and whoever runs it.

A non-superuser may not ``LOAD`` a library outside ``$libdir/plugins``; reading a value of an
extension's own base type calls the type's C functions, which loads the library: one ``NULL``
of one such type per extension.
"""

from __future__ import annotations

from sqlalchemy import Connection

_ONE_C_TYPE_PER_EXTENSION = """
SELECT DISTINCT ON (x.extname) t.oid::regtype::text
FROM pg_extension x
JOIN pg_depend d ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = x.oid
  AND d.classid = 'pg_type'::regclass AND d.deptype = 'e'
JOIN pg_type t ON t.oid = d.objid AND t.typtype = 'b'
JOIN pg_proc p ON p.oid = t.typinput
JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'c'
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE has_type_privilege(t.oid, 'USAGE')
  AND has_schema_privilege(n.oid, 'USAGE')
ORDER BY x.extname, t.typname
"""


def load_extension_libraries(connection: Connection) -> list[str]:
    """Load the library of every installed extension that has a C type; return those types."""
    types = [str(name) for name in connection.exec_driver_sql(_ONE_C_TYPE_PER_EXTENSION).scalars()]
    for qualified_type in types:
        # The name comes from the catalog, quoted (and qualified where needed) by regtype.
        connection.exec_driver_sql(f"SELECT NULL::{qualified_type}").all()
    return types
