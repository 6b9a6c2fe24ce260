CREATE OR REPLACE FUNCTION public.costdb_find_listed_model(scope text, name text)
 RETURNS TABLE(priced_provider text, priced_model text, list_label text)
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
AS $function$
DECLARE
  written_out text := name;
  parts text[];
BEGIN
  RETURN QUERY SELECT * FROM costdb_first_match_rule('model', scope, name);
  IF FOUND THEN
    RETURN;
  END IF;
  FOR parts IN SELECT regexp_matches(name,
      '-(20[0-9]{2})(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])(?=-|:|$)', 'g') LOOP
    IF parts[3]::integer <= extract(day FROM make_date(parts[1]::integer, parts[2]::integer, 1)
                                         + interval '1 month - 1 day') THEN
      written_out := regexp_replace(written_out,
        '-' || parts[1] || parts[2] || parts[3] || '(?=-|:|$)',
        '-' || parts[1] || '-' || parts[2] || '-' || parts[3], 'g');
    END IF;
  END LOOP;
  IF written_out <> name THEN
    RETURN QUERY SELECT * FROM costdb_first_match_rule('model', scope, written_out);
  END IF;
END
$function$;
