CREATE OR REPLACE FUNCTION public.costdb_event_cost(provider text, model text, at timestamp with time zone, input_tokens integer, output_tokens integer, cache_read_tokens integer, cache_write_tokens integer)
 RETURNS numeric
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
  SELECT (SELECT costdb_usage_cost($4, $5, $6, $7, r.input_price_per_1k, r.output_price_per_1k,
                                   r.cache_read_price_per_1k, r.cache_write_price_per_1k)
          FROM costdb_rates r
          WHERE r.provider = $1 AND r.model = $2 AND $3 >= r.valid_from AND $3 < r.valid_until
            AND $4 >= r.min_input_tokens AND $4 < r.max_input_tokens)
$function$;
