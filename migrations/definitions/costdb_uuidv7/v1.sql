-- PostgreSQL 18 has uuidv7() (monotonic within a backend); before it, the RFC 9562 layout
-- from a millisecond timestamp over gen_random_uuid()'s random bits, version nibble set to 7.
DO $do$
BEGIN
  IF current_setting('server_version_num')::int >= 180000 THEN
    CREATE OR REPLACE FUNCTION costdb_uuidv7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE
      AS 'SELECT uuidv7()';
  ELSE
    CREATE OR REPLACE FUNCTION costdb_uuidv7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $fn$
      SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
          PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)
          FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
    $fn$;
  END IF;
END
$do$;
