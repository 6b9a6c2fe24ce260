-- Every grant and privilege of costdb's roles, in one place. Every statement can run again:
-- the first boot runs it (after 20-roles.sh has made the roles); the db image's entrypoint and
-- `costdb local up` run it again on every start, before `costdb migrate`, so an existing volume
-- gets a grant a later release adds with nothing else to do; on Citus the Compose profile's
-- registration (docker/citus/register-workers.sh) applies it to each worker, since Citus
-- copies the roles to a new worker but not the schema's owner, grants or default privileges.
-- Role attributes and session defaults (20-roles.sh) are first boot only: an operator may
-- tune them, and a start must not undo that.

-- Read-only monitoring (statistics, sizes, settings): the probe and postgres_exporter.
GRANT pg_monitor TO costdb_readonly;

-- Only costdb's roles connect, and only to costdb's database.
REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC;
DO $grant$
BEGIN
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO costdb_owner, costdb_app, '
                 'costdb_readonly', current_database());
END
$grant$;

-- Only the owner creates objects in the public schema; the app and read-only roles use it,
-- and tables the owner creates later (every migration) are granted to them automatically.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO costdb_owner;
GRANT USAGE ON SCHEMA public TO costdb_app, costdb_readonly;

ALTER DEFAULT PRIVILEGES FOR ROLE costdb_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO costdb_app;
ALTER DEFAULT PRIVILEGES FOR ROLE costdb_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO costdb_app;
ALTER DEFAULT PRIVILEGES FOR ROLE costdb_owner IN SCHEMA public
  GRANT SELECT ON TABLES TO costdb_readonly;
