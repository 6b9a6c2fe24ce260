// The seed's Drizzle schema, verbatim from phase-2b-database-schema.md (spec revision 0001):
// the client that schema v2 must keep working unchanged.
import {
  pgTable, uuid, text, integer, numeric,
  timestamp, jsonb, boolean, index, uniqueIndex,
} from 'drizzle-orm/pg-core';

// ─── events ───
export const events = pgTable('events', {
  id: uuid('id').primaryKey().defaultRandom(),
  traceId: text('trace_id').notNull(),
  spanId: text('span_id').notNull(),
  parentSpanId: text('parent_span_id'),
  projectId: text('project_id').notNull().default('default'),
  feature: text('feature').notNull(),
  userId: text('user_id'),
  provider: text('provider').notNull(),   // 'openai' | 'anthropic'
  model: text('model').notNull(),
  inputTokens: integer('input_tokens').notNull(),
  outputTokens: integer('output_tokens').notNull(),
  cachedTokens: integer('cached_tokens').notNull().default(0),
  latencyMs: integer('latency_ms').notNull(),
  estimatedCostUsd: numeric('estimated_cost_usd', { precision: 12, scale: 6 }).notNull(),
  verifiedCostUsd: numeric('verified_cost_usd', { precision: 12, scale: 6 }),
  isCacheHit: boolean('is_cache_hit').notNull().default(false),
  metadata: jsonb('metadata'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (table) => ({
  featureTimeIdx: index('idx_events_feature_time').on(table.projectId, table.feature, table.createdAt),
  userTimeIdx: index('idx_events_user_time').on(table.projectId, table.userId, table.createdAt),
  createdAtIdx: index('idx_events_created_at').on(table.createdAt),
  traceIdx: index('idx_events_trace').on(table.traceId),
}));

// ─── model_pricing ───
export const modelPricing = pgTable('model_pricing', {
  id: uuid('id').primaryKey().defaultRandom(),
  provider: text('provider').notNull(),
  model: text('model').notNull(),
  inputPricePer1k: numeric('input_price_per_1k', { precision: 10, scale: 6 }).notNull(),
  outputPricePer1k: numeric('output_price_per_1k', { precision: 10, scale: 6 }).notNull(),
  effectiveDate: timestamp('effective_date', { withTimezone: true }).notNull().defaultNow(),
}, (table) => ({
  modelUniq: uniqueIndex('idx_model_pricing_uniq').on(table.provider, table.model, table.effectiveDate),
}));

// ─── prompt_analysis ───
export const promptAnalysis = pgTable('prompt_analysis', {
  id: uuid('id').primaryKey().defaultRandom(),
  eventId: uuid('event_id').notNull().references(() => events.id, { onDelete: 'cascade' }),
  inputTokenRatio: numeric('input_token_ratio', { precision: 8, scale: 4 }),
  redundancyScore: numeric('redundancy_score', { precision: 5, scale: 4 }),
  suggestions: jsonb('suggestions').$type<string[]>(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (table) => ({
  eventIdx: index('idx_prompt_analysis_event').on(table.eventId),
}));

// ─── cost_aggregates ───
export const costAggregates = pgTable('cost_aggregates', {
  id: uuid('id').primaryKey().defaultRandom(),
  projectId: text('project_id').notNull().default('default'),
  feature: text('feature').notNull(),
  model: text('model').notNull(),
  period: text('period').notNull(), // 'hour' | 'day'
  periodStart: timestamp('period_start', { withTimezone: true }).notNull(),
  totalCost: numeric('total_cost', { precision: 12, scale: 6 }).notNull().default('0'),
  totalTokens: integer('total_tokens').notNull().default(0),
  callCount: integer('call_count').notNull().default(0),
  avgLatency: numeric('avg_latency', { precision: 10, scale: 2 }).notNull().default('0'),
}, (table) => ({
  aggregateIdx: uniqueIndex('idx_cost_agg_uniq').on(
    table.projectId, table.feature, table.model, table.period, table.periodStart
  ),
  periodIdx: index('idx_cost_agg_period').on(table.projectId, table.period, table.periodStart),
}));
