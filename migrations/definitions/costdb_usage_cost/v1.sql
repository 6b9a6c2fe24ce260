CREATE OR REPLACE FUNCTION public.costdb_usage_cost(input_tokens integer, output_tokens integer, cache_read_tokens integer, cache_write_tokens integer, input_price_per_1k numeric, output_price_per_1k numeric, cache_read_price_per_1k numeric, cache_write_price_per_1k numeric)
 RETURNS numeric
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
  SELECT round((
      greatest(input_tokens::bigint - cache_read_tokens - cache_write_tokens, 0)
        * input_price_per_1k
    + cache_read_tokens::bigint * coalesce(cache_read_price_per_1k, input_price_per_1k)
    + cache_write_tokens::bigint * coalesce(cache_write_price_per_1k, input_price_per_1k)
    + output_tokens::bigint * output_price_per_1k) * 0.001, 6)
$function$;
