CREATE OR REPLACE FUNCTION public.costdb_match_model_name(provider text, model text)
 RETURNS TABLE(priced_provider text, priced_model text, rule text)
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
AS $function$
DECLARE
  reported text := lower(btrim(provider));
  name text := lower(model);
  scope text;
  unwrapped text;
  listed_provider text;
  listed_model text;
  label text;
BEGIN
  IF reported = 'litellm' AND strpos(name, '/') > 0 THEN
    unwrapped := (SELECT f.priced_provider FROM costdb_first_match_rule(
      'provider', '', lower(btrim(split_part(name, '/', 1)))) f);
    IF unwrapped IS NOT NULL THEN
      scope := unwrapped;
      name := substr(name, strpos(name, '/') + 1);
    END IF;
  END IF;
  IF scope IS NULL THEN
    scope := (SELECT f.priced_provider FROM costdb_first_match_rule('provider', '', reported) f);
  END IF;
  IF scope IS NULL AND reported = 'litellm' THEN
    scope := (SELECT f.priced_provider FROM costdb_first_match_rule('maker', '', name) f);
  END IF;
  IF scope IS NOT NULL THEN
    SELECT l.priced_provider, l.priced_model, l.list_label INTO listed_provider, listed_model, label
    FROM costdb_find_listed_model(scope, name) l;
  END IF;
  IF listed_model IS NULL THEN  -- not found with the provider: by the name alone
    name := lower(model);
    scope := (SELECT f.priced_provider FROM costdb_first_match_rule('maker', '', name) f);
    IF scope IS NULL THEN
      RETURN;
    END IF;
    SELECT l.priced_provider, l.priced_model, l.list_label INTO listed_provider, listed_model, label
    FROM costdb_find_listed_model(scope, name) l;
    IF listed_model IS NULL THEN
      RETURN;
    END IF;
  END IF;
  priced_provider := listed_provider;
  priced_model := listed_model;
  rule := label || ': ' || quote_literal(model) || ' matches ' || listed_provider || ' model '
    || quote_literal(listed_model)
    || CASE WHEN listed_provider = scope THEN '' ELSE ' (via ' || scope || ')' END;
  RETURN NEXT;
END
$function$;
