-- First boot only: the pgvector extension, created by the superuser in POSTGRES_DB.
-- (pgvector is not a trusted extension: the migration role could not create it itself.)
CREATE EXTENSION IF NOT EXISTS vector;
