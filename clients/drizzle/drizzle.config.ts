// drizzle-kit reads the generated schema; `costdb migrate` (Alembic) owns the database, so the
// SQL drizzle-kit writes is only compared with it (tests/test_drizzle_client.py), never applied
// to a real database.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './schema.ts',
  out: process.env.DRIZZLE_OUT ?? './drizzle',
});
