// The seed's client, written against the spec's schema only (seed/schema.ts): what every
// existing backend does. It must keep working on every costdb revision.
import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';

import * as schema from './schema.js';

const { costAggregates, events, modelPricing, promptAnalysis } = schema;

async function main(): Promise<void> {
  const pool = new pg.Pool({
    connectionString: process.env.DATABASE_URL,
    max: 2,
    connectionTimeoutMillis: 5_000,
  });
  const db = drizzle(pool, { schema });
  try {
    const [event] = await db.insert(events).values({
      traceId: 'seed-trace',
      spanId: 'seed-span',
      feature: 'chat',
      provider: 'openai',
      model: 'gpt-4o',
      inputTokens: 1200,
      outputTokens: 300,
      cachedTokens: 2000, // more than the input: the seed never promised the convention
      latencyMs: 950,
      estimatedCostUsd: '0.012345',
      metadata: { route: '/chat' },
    }).returning();
    await db.insert(promptAnalysis).values({
      eventId: event.id,
      redundancyScore: '0.2500',
      suggestions: ['trim the system prompt'],
    });
    await db.insert(modelPricing).values({
      provider: 'openai', model: 'gpt-4o', inputPricePer1k: '0.0025', outputPricePer1k: '0.01',
    });
    const periodStart = new Date('2026-11-01T12:00:00Z');
    for (let i = 0; i < 2; i += 1) {
      await db.insert(costAggregates).values({
        feature: 'chat', model: 'gpt-4o', period: 'hour', periodStart,
        totalCost: '0.5', totalTokens: 1500, callCount: 1, avgLatency: '950',
      }).onConflictDoUpdate({
        target: [costAggregates.projectId, costAggregates.feature, costAggregates.model,
          costAggregates.period, costAggregates.periodStart],
        set: { callCount: sql`${costAggregates.callCount} + 1` },
      });
    }
    // What a client learns from a refused write: its SQLSTATE, and the constraint and table.
    let rejected: Record<string, string | null> = {};
    try {
      await db.insert(promptAnalysis).values({ eventId: '00000000-0000-0000-0000-000000000000' });
    } catch (error: unknown) {
      const cause = ((error as { cause?: unknown }).cause ?? error) as {
        code?: string; constraint?: string; table?: string;
      };
      rejected = {
        code: cause.code ?? null, constraint: cause.constraint ?? null, table: cause.table ?? null,
      };
    }
    const [readBack] = await db.select().from(events).where(eq(events.id, event.id));
    const analyses = await db.select().from(promptAnalysis).where(eq(promptAnalysis.eventId, event.id));
    const [aggregate] = await db.select().from(costAggregates);
    await db.delete(events).where(eq(events.id, event.id));
    const orphans = await db.select().from(promptAnalysis).where(eq(promptAnalysis.eventId, event.id));
    console.log(JSON.stringify({
      id: readBack.id,
      projectId: readBack.projectId,
      cachedTokens: readBack.cachedTokens,
      isCacheHit: readBack.isCacheHit,
      estimatedCostUsd: readBack.estimatedCostUsd,
      suggestions: analyses[0].suggestions,
      callCount: aggregate.callCount,
      orphans: orphans.length,
      rejected,
    }));
  } finally {
    await pool.end();
  }
}

main().catch((error: unknown) => {
  console.error(`seed client: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
