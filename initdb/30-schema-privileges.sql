-- First boot only (after 20-roles.sh): only the owner creates objects in the public schema;
-- the app and read-only roles use it, and tables the owner creates later (every migration) are
-- granted to them automatically. Every statement can run again: on Citus, the Compose
-- profile's registration (docker/citus/register-workers.sh) applies this file to each worker,
-- since Citus copies the roles to a new worker but not the schema's owner, grants or default
-- privileges.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO costdb_owner;
GRANT USAGE ON SCHEMA public TO costdb_app, costdb_readonly;

ALTER DEFAULT PRIVILEGES FOR ROLE costdb_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO costdb_app;
ALTER DEFAULT PRIVILEGES FOR ROLE costdb_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO costdb_app;
ALTER DEFAULT PRIVILEGES FOR ROLE costdb_owner IN SCHEMA public
  GRANT SELECT ON TABLES TO costdb_readonly;
