// A backend's view of costdb through the generated schema: record one LLM call with its usage,
// read back the cost the database computes. Nothing is priced here.
//
//   DATABASE_URL=postgresql://costdb_app:...@127.0.0.1:5432/costdb npm run example
//
// That plain URL is for `docker compose up`, which offers TLS and accepts clear text on
// 127.0.0.1. The image as deployed (staging) requires TLS: add
// ?sslmode=verify-full&sslrootcert=/path/to/ca.crt (docs/operations.md, "Connection strings").
import { and, eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';

import { events, eventsWithCost, modelPricing, modelPricingTiers } from './schema.js';

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5_000 });
  const db = drizzle(pool);
  try {
    // Claude Sonnet 4.5's published prices per 1k tokens, with the long-context tier above 200k.
    const effectiveDate = new Date('2025-09-29T00:00:00Z');
    const existing = await db.select({ id: modelPricing.id }).from(modelPricing).where(and(
      eq(modelPricing.provider, 'anthropic'),
      eq(modelPricing.model, 'claude-sonnet-4-5'),
      eq(modelPricing.effectiveDate, effectiveDate),
    ));
    if (existing.length === 0) {
      const [price] = await db.insert(modelPricing).values({
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        inputPricePer1k: '0.003',
        outputPricePer1k: '0.015',
        cacheReadPricePer1k: '0.0003',
        cacheWritePricePer1k: '0.00375',
        effectiveDate,
      }).returning({ id: modelPricing.id });
      await db.insert(modelPricingTiers).values({
        pricingId: price.id,
        minInputTokens: 200_001,
        inputPricePer1k: '0.006',
        outputPricePer1k: '0.0225',
        cacheReadPricePer1k: '0.0006',
        cacheWritePricePer1k: '0.0075',
      });
    }

    // One call: 50k input (30k read from the cache, 10k written to it), 1k output of which
    // 600 reasoning; the id comes from the database (UUID version 7).
    const [call] = await db.insert(events).values({
      traceId: 'trace-example',
      spanId: 'span-example',
      projectId: 'example',
      feature: 'summarise',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      inputTokens: 50_000,
      cachedTokens: 30_000,
      cacheWriteTokens: 10_000,
      outputTokens: 1_000,
      reasoningTokens: 600,
      latencyMs: 2_400,
      timeToFirstTokenMs: 350,
      operation: 'chat',
      estimatedCostUsd: '0.090000',
      createdAt: new Date('2025-10-01T12:00:00Z'),
    }).returning({ id: events.id });

    const [priced] = await db.select({
      id: eventsWithCost.id,
      status: eventsWithCost.status,
      estimatedCostUsd: eventsWithCost.estimatedCostUsd,
      computedCostUsd: eventsWithCost.computedCostUsd,
      costDriftUsd: eventsWithCost.costDriftUsd,
    }).from(eventsWithCost).where(eq(eventsWithCost.id, call.id));
    console.log(JSON.stringify(priced));
  } finally {
    await pool.end();
  }
}

main().catch((error: unknown) => {
  console.error(`example: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
