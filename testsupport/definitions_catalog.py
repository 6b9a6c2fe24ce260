"""What a database says its costdb functions and views are: the definitions the versioned files
in ``migrations/definitions`` are held against (``tests/test_definitions.py``)."""

from __future__ import annotations

from typing import Any

import psycopg

# Functions and views of the public schema that no extension owns (pgvector's, Citus's are not
# costdb's), each with its definition and its comment.
DEFINITIONS = """
SELECT p.proname, 'function', pg_get_functiondef(p.oid),
       quote_literal(obj_description(p.oid, 'pg_proc')),
       format('%s(%s)', p.oid::regproc, pg_get_function_identity_arguments(p.oid))
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.prokind = 'f'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT c.relname, 'view',
       format('CREATE OR REPLACE VIEW %I%s AS%s', c.relname,
              CASE WHEN c.reloptions IS NULL THEN ''
                   ELSE format(' WITH (%s)', array_to_string(c.reloptions, ', ')) END,
              pg_get_viewdef(c.oid, true)),
       quote_literal(obj_description(c.oid, 'pg_class')), quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'v'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
"""


def current_definitions(connection: psycopg.Connection[Any]) -> dict[str, tuple[str, str]]:
    """``name -> (kind, SQL that recreates it as it is: definition, then comment)``."""
    found = {}
    for name, kind, definition, comment, identity in connection.execute(DEFINITIONS):
        sql = definition.rstrip().removesuffix(";") + ";\n"
        if comment is not None:  # quoted by the query: one round trip for the whole catalog
            on = "FUNCTION" if kind == "function" else "VIEW"
            sql += f"COMMENT ON {on} {identity} IS {comment};\n"
        found[name] = (kind, sql)
    return found
