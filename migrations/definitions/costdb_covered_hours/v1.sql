CREATE OR REPLACE FUNCTION public.costdb_covered_hours(since timestamp with time zone, until timestamp with time zone, OUT hours_from timestamp with time zone, OUT hours_until timestamp with time zone)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
  covered_from timestamptz;
  covered_until timestamptz;
  covered_hour timestamptz;
  from_hour timestamptz := date_trunc('hour', since, 'UTC');
BEGIN
  hours_from := since;
  hours_until := since;
  SELECT c.covered_from, c.covered_until INTO covered_from, covered_until
  FROM costdb_rollup_coverage c WHERE c.period = 'hour';
  IF covered_from IS NULL THEN
    RETURN;
  END IF;
  IF from_hour < since THEN
    from_hour := from_hour + interval '1 hour';
  END IF;
  covered_hour := date_trunc('hour', covered_until, 'UTC');
  hours_from := greatest(from_hour, covered_from);
  hours_until := least(date_trunc('hour', until, 'UTC'), covered_hour);  -- whole hours
  IF covered_until > covered_hour AND hours_until = covered_hour AND covered_until <= until THEN
    hours_until := covered_until;  -- and the hour in progress, as far as it is covered
  END IF;
  IF hours_from >= hours_until THEN
    hours_from := since;
    hours_until := since;
  END IF;
END
$function$;
