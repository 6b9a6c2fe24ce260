CREATE OR REPLACE FUNCTION public.costdb_first_match_rule(lookup text, scope text, name text)
 RETURNS TABLE(priced_provider text, priced_model text, list_label text)
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
  SELECT r.priced_provider, r.priced_model, r.list_label
  FROM costdb_model_match_rules r
  WHERE r.lookup = $1 AND r.scope = $2
  GROUP BY r.position, r.alternative, r.priced_provider, r.priced_model, r.list_label
  HAVING bool_and(CASE r.kind
      WHEN 'equals' THEN $3 = r.pattern
      WHEN 'starts_with' THEN starts_with($3, r.pattern)
      WHEN 'ends_with' THEN right($3, char_length(r.pattern)) = r.pattern
      WHEN 'contains' THEN strpos($3, r.pattern) > 0
      ELSE $3 ~ r.pattern END)
  ORDER BY r.position, r.alternative
  LIMIT 1
$function$;
