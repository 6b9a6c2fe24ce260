CREATE OR REPLACE FUNCTION public.costdb_resolve_inserted_names()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
BEGIN
  WITH new_names AS (
    SELECT DISTINCT i.provider, i.model FROM inserted i
    WHERE NOT EXISTS (SELECT FROM costdb_model_names n
                      WHERE n.provider = i.provider AND n.model = i.model)
  ), resolved AS (
    SELECT r.provider, r.model, r.priced_provider, r.priced_model, r.rule
    FROM new_names nn
    CROSS JOIN LATERAL (
      SELECT nn.provider, nn.model, nn.provider AS priced_provider, nn.model AS priced_model,
             'priced by its own model_pricing rows' AS rule
      WHERE EXISTS (SELECT FROM model_pricing p
                    WHERE p.provider = nn.provider AND p.model = nn.model)
      UNION ALL
      SELECT nn.provider, nn.model, m.priced_provider, m.priced_model, m.rule
      FROM costdb_match_model_name(nn.provider, nn.model) m
      WHERE NOT EXISTS (SELECT FROM model_pricing p
                        WHERE p.provider = nn.provider AND p.model = nn.model)
    ) r
  ), recorded AS (
    INSERT INTO costdb_model_names (provider, model, priced_provider, priced_model, rule, source)
    SELECT provider, model, priced_provider, priced_model, rule, 'genai-prices' FROM resolved
    ON CONFLICT (provider, model) DO NOTHING
    RETURNING provider, model, priced_provider, priced_model
  )
  INSERT INTO costdb_repricing AS r (period, provider, model, effective_from)
  SELECT kind, provider, model, timestamptz '1970-01-01 00:00+00'
  FROM recorded CROSS JOIN unnest(ARRAY['hour', 'day']) AS kind
  WHERE (priced_provider, priced_model) <> (provider, model)
  ON CONFLICT (period, provider, model) DO UPDATE
  SET effective_from = least(r.effective_from, EXCLUDED.effective_from),
      recorded_at = EXCLUDED.recorded_at;
  RETURN NULL;
END
$function$;
