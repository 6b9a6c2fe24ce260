CREATE OR REPLACE FUNCTION public.costdb_budget_period(period text, time_zone text, at timestamp with time zone, OUT period_start timestamp with time zone, OUT period_end timestamp with time zone)
 RETURNS record
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
  SELECT s, (s AT TIME ZONE time_zone + ('1 ' || period)::interval) AT TIME ZONE time_zone
  FROM (SELECT date_trunc(period, at, time_zone) AS s) AS start
$function$;
