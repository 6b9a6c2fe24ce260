CREATE OR REPLACE FUNCTION public.costdb_thresholds_valid(thresholds numeric[])
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
  SELECT array_ndims(thresholds) = 1 AND array_lower(thresholds, 1) = 1
     AND cardinality(thresholds) BETWEEN 1 AND 10
     AND NOT EXISTS (
       SELECT FROM unnest(thresholds) WITH ORDINALITY AS t(percent, position)
       WHERE percent IS NULL OR percent <= 0 OR percent > 100
          OR (position > 1 AND percent <= thresholds[position::integer - 1]))
$function$;
