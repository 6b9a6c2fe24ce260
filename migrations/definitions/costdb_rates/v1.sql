CREATE OR REPLACE VIEW costdb_rates AS WITH prices AS (
         SELECT p.id,
            p.provider,
            p.model,
            p.effective_date AS valid_from,
            COALESCE(lead(p.effective_date) OVER (PARTITION BY p.provider, p.model ORDER BY p.effective_date), 'infinity'::timestamp with time zone) AS valid_until,
            p.input_price_per_1k,
            p.output_price_per_1k,
            p.cache_read_price_per_1k,
            p.cache_write_price_per_1k
           FROM model_pricing p
        ), tiers AS (
         SELECT t.pricing_id,
            t.min_input_tokens::bigint AS min_input_tokens,
            COALESCE(lead(t.min_input_tokens) OVER (PARTITION BY t.pricing_id ORDER BY t.min_input_tokens)::bigint, '2147483648'::bigint) AS max_input_tokens,
            t.input_price_per_1k,
            t.output_price_per_1k,
            t.cache_read_price_per_1k,
            t.cache_write_price_per_1k
           FROM model_pricing_tiers t
        )
 SELECT p.provider,
    p.model,
    p.valid_from,
    p.valid_until,
    0::bigint AS min_input_tokens,
    COALESCE(( SELECT min(t.min_input_tokens) AS min
           FROM tiers t
          WHERE t.pricing_id = p.id), '2147483648'::bigint) AS max_input_tokens,
    p.input_price_per_1k,
    p.output_price_per_1k,
    p.cache_read_price_per_1k,
    p.cache_write_price_per_1k
   FROM prices p
UNION ALL
 SELECT p.provider,
    p.model,
    p.valid_from,
    p.valid_until,
    t.min_input_tokens,
    t.max_input_tokens,
    t.input_price_per_1k,
    t.output_price_per_1k,
    t.cache_read_price_per_1k,
    t.cache_write_price_per_1k
   FROM prices p
     JOIN tiers t ON t.pricing_id = p.id;
