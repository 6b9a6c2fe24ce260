CREATE OR REPLACE FUNCTION public.costdb_event_cost(provider text, model text, at timestamp with time zone, input_tokens integer, output_tokens integer, cache_read_tokens integer, cache_write_tokens integer)
 RETURNS numeric
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
  WITH named AS (
    SELECT coalesce(n.priced_provider, $1) AS provider, coalesce(n.priced_model, $2) AS model
    FROM (SELECT) AS one
    LEFT JOIN costdb_model_names n ON n.provider = $1 AND n.model = $2
  ), price AS (
    SELECT p.id, p.input_price_per_1k, p.output_price_per_1k,
           p.cache_read_price_per_1k, p.cache_write_price_per_1k
    FROM named JOIN model_pricing p ON p.provider = named.provider AND p.model = named.model
    WHERE p.effective_date <= $3
    ORDER BY p.effective_date DESC
    LIMIT 1
  ), tier AS (
    SELECT t.input_price_per_1k, t.output_price_per_1k,
           t.cache_read_price_per_1k, t.cache_write_price_per_1k
    FROM price JOIN model_pricing_tiers t ON t.pricing_id = price.id
    WHERE t.min_input_tokens <= $4
    ORDER BY t.min_input_tokens DESC
    LIMIT 1
  )
  SELECT CASE WHEN tier.input_price_per_1k IS NULL
    THEN costdb_usage_cost($4, $5, $6, $7, price.input_price_per_1k, price.output_price_per_1k,
                           price.cache_read_price_per_1k, price.cache_write_price_per_1k)
    ELSE costdb_usage_cost($4, $5, $6, $7, tier.input_price_per_1k, tier.output_price_per_1k,
                           tier.cache_read_price_per_1k, tier.cache_write_price_per_1k)
  END
  FROM price LEFT JOIN tier ON true
$function$;
