CREATE OR REPLACE VIEW budget_status AS SELECT s.budget_id,
    s.project_id,
    s.feature,
    s.user_id,
    s.period,
    s.time_zone,
    s.period_start,
    s.period_end,
    s.limit_usd,
    s.spend_usd,
    s.remaining_usd,
    s.used_percent,
    s.state
   FROM budgets b
     CROSS JOIN LATERAL costdb_budget_state(b.id, b.project_id, b.feature, b.user_id, b.period, b.time_zone, b.limit_usd, b.alert_thresholds, now()) s(budget_id, project_id, feature, user_id, period, time_zone, period_start, period_end, limit_usd, spend_usd, remaining_usd, used_percent, state)
  WHERE b.active;
