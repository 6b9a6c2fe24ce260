CREATE OR REPLACE FUNCTION public.costdb_event_cost(provider text, model text, at timestamp with time zone, input_tokens integer, output_tokens integer, cache_read_tokens integer, cache_write_tokens integer)
 RETURNS numeric
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
AS $function$
DECLARE
  priced_provider text;
  priced_model text;
  price_id uuid;
  rates numeric[];
  tier_rates numeric[];
BEGIN
  SELECT n.priced_provider, n.priced_model INTO priced_provider, priced_model
  FROM costdb_model_names n WHERE n.provider = $1 AND n.model = $2;
  IF NOT FOUND THEN
    priced_provider := $1;
    priced_model := $2;
    IF NOT EXISTS (SELECT FROM model_pricing o WHERE o.provider = $1 AND o.model = $2) THEN
      SELECT coalesce(m.priced_provider, $1), coalesce(m.priced_model, $2)
      INTO priced_provider, priced_model
      FROM (SELECT) AS one LEFT JOIN costdb_match_model_name($1, $2) m ON true;
    END IF;
  END IF;
  SELECT p.id, ARRAY[p.input_price_per_1k, p.output_price_per_1k, p.cache_read_price_per_1k,
                     p.cache_write_price_per_1k]
  INTO price_id, rates
  FROM model_pricing p
  WHERE p.provider = priced_provider AND p.model = priced_model AND p.effective_date <= $3
  ORDER BY p.effective_date DESC
  LIMIT 1;
  IF price_id IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT ARRAY[t.input_price_per_1k, t.output_price_per_1k, t.cache_read_price_per_1k,
               t.cache_write_price_per_1k]
  INTO tier_rates
  FROM model_pricing_tiers t
  WHERE t.pricing_id = price_id AND t.min_input_tokens <= $4
  ORDER BY t.min_input_tokens DESC
  LIMIT 1;
  rates := coalesce(tier_rates, rates);
  RETURN costdb_usage_cost($4, $5, $6, $7, rates[1], rates[2], rates[3], rates[4]);
END
$function$;
