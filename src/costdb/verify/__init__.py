"""The schema's verdict core: the catalog read, the expected schema (manifest) and the pure
checks. The probe (``healthcheck``) and the migration runner both judge with it; it imports
nothing from either."""
