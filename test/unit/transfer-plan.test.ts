import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventPlanId } from '#lib/idempotency/ids.ts';
import type { TransferPlan } from '#lib/rules/schema.ts';
import { transferPlanSchema } from '#lib/rules/schema.ts';
import { TransferPlanError } from '#lib/transfers/errors.ts';
import {
  parseIsoDuration,
  parseTransferDetail,
  planFromRule,
  requestFromEvent,
  toEpochMs,
} from '#lib/transfers/plan.ts';

const INSTANCE = '11111111-2222-3333-4444-555555555555';
const QUEUE = 'a0a0a0a0-0000-4000-8000-000000000002';
const USER = 'b0b0b0b0-0000-4000-8000-000000000001';
const FLOW = 'f1a2b3c4-0000-4000-8000-000000000002';
const CREATED = Date.UTC(2024, 4, 1, 9, 0, 0);

describe('parseIsoDuration', () => {
  it.each([
    ['PT2H', 2 * 3_600_000],
    ['PT90M', 90 * 60_000],
    ['PT30S', 30_000],
    ['PT0.5S', 500],
    ['PT1,25S', 1_250],
    ['P2D', 2 * 86_400_000],
    ['P1DT12H', 36 * 3_600_000],
    ['P1DT2H3M4S', 86_400_000 + 2 * 3_600_000 + 3 * 60_000 + 4_000],
    ['PT1.5H', 90 * 60_000],
    ['P1W', 7 * 86_400_000],
    ['PT0S', 0],
  ])('reads %s as %d ms', (text, ms) => {
    // Act / Assess
    expect(parseIsoDuration(text)).toBe(ms);
  });

  it.each(['P1Y', 'P2M', 'P1Y2M3D', 'P1MT1M'])(
    'refuses calendar units in %s, naming years or months',
    (text) => {
      // Act / Assess
      expect(() => parseIsoDuration(text)).toThrow(/years or months/);
    },
  );

  it.each(['', 'P', 'PT', 'P1DT', '2H', 'PT2', 'PT-1H', 'P1W2D', 'PT1.5H30M', 'pt2h', 'PT2H '])(
    'refuses the malformed duration %j with a TransferPlanError',
    (text) => {
      // Act / Assess
      expect(() => parseIsoDuration(text)).toThrow(TransferPlanError);
    },
  );

  it('agrees with the sum of its components for any PnDTnHnMnS', () => {
    // Prepare
    const component = fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined });
    fc.assert(
      fc.property(component, component, component, component, (d, h, m, s) => {
        fc.pre([d, h, m, s].some((v) => v !== undefined));
        const time = [
          h === undefined ? '' : `${h}H`,
          m === undefined ? '' : `${m}M`,
          s === undefined ? '' : `${s}S`,
        ].join('');
        const text = `P${d === undefined ? '' : `${d}D`}${time === '' ? '' : `T${time}`}`;
        // Act
        const ms = parseIsoDuration(text);
        // Assess
        expect(ms).toBe((d ?? 0) * 86_400_000 + (h ?? 0) * 3_600_000 + (m ?? 0) * 60_000 + (s ?? 0) * 1_000);
      }),
      { numRuns: 200 },
    );
  });

  it('accepts every duration the rule schema accepts, except years and months', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^P(\d{1,3}W|(\d{1,3}D)?(T(\d{1,3}H)?(\d{1,3}M)?(\d{1,3}S)?)?)$/),
        (text) => {
          // Prepare
          const accepted = transferPlanSchema.safeParse({
            planId: 'p',
            after: text,
            queueId: QUEUE,
            contactFlowId: FLOW,
          });
          fc.pre(accepted.success);
          // Act / Assess
          expect(Number.isSafeInteger(parseIsoDuration(text))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('toEpochMs', () => {
  it('reads ISO-8601 with a zone, epoch seconds and epoch milliseconds', () => {
    // Act / Assess
    expect(toEpochMs('2024-05-01T09:00:00Z')).toBe(CREATED);
    expect(toEpochMs('2024-05-01T11:00:00+02:00')).toBe(CREATED);
    expect(toEpochMs(CREATED / 1000)).toBe(CREATED);
    expect(toEpochMs(CREATED)).toBe(CREATED);
    expect(toEpochMs(String(CREATED / 1000))).toBe(CREATED);
  });

  it('refuses a date-time without a zone, which would depend on the host time zone', () => {
    // Act / Assess
    expect(() => toEpochMs('2024-05-01T09:00:00')).toThrow(/with a zone/);
  });
});

describe('planFromRule', () => {
  const plan = (fields: Partial<TransferPlan>): TransferPlan =>
    ({ planId: 'escalate', contactFlowId: FLOW, queueId: QUEUE, after: 'PT2H', ...fields }) as TransferPlan;

  it('makes a PENDING item due at creation plus the ISO duration', () => {
    // Act
    const item = planFromRule(plan({}), { contactId: 'c-1', instanceId: INSTANCE, createdAt: CREATED });
    // Assess
    expect(item).toEqual({
      contactId: 'c-1',
      planId: 'escalate',
      instanceId: INSTANCE,
      status: 'PENDING',
      dueAt: CREATED + 2 * 3_600_000,
      queueId: QUEUE,
      contactFlowId: FLOW,
      attempts: 0,
      createdAt: CREATED,
      updatedAt: CREATED,
      expiresAt: Math.ceil((CREATED + 2 * 3_600_000 + 30 * 86_400_000) / 1000),
    });
  });

  it('uses the evaluated "at" for plans with "at"', () => {
    // Act
    const item = planFromRule(plan({ after: undefined, at: 'data.escalateAt' }), {
      contactId: 'c-1',
      instanceId: INSTANCE,
      createdAt: CREATED,
      at: '2024-05-02T00:00:00Z',
    });
    // Assess
    expect(item.dueAt).toBe(Date.UTC(2024, 4, 2));
  });

  it('refuses a plan with "at" when no evaluated time is given', () => {
    // Act / Assess
    expect(() =>
      planFromRule(plan({ after: undefined, at: 'data.x' }), {
        contactId: 'c',
        instanceId: INSTANCE,
        createdAt: CREATED,
      }),
    ).toThrow(/no evaluated time/);
  });

  it('refuses a plan naming both a queue and a user, before anything is stored', () => {
    // Act / Assess
    expect(() =>
      planFromRule(plan({ userId: USER }), { contactId: 'c', instanceId: INSTANCE, createdAt: CREATED }),
    ).toThrow(/exactly one of queueId or userId/);
  });

  it('marks its errors permanent so the ingest never retries them', () => {
    // Act
    let caught: unknown;
    try {
      planFromRule(plan({ after: 'P1M' }), { contactId: 'c', instanceId: INSTANCE, createdAt: CREATED });
    } catch (error) {
      caught = error;
    }
    // Assess
    expect(caught).toBeInstanceOf(TransferPlanError);
    expect(caught).toMatchObject({ name: 'TransferPlanError', permanent: true, code: 'InvalidTransferPlan' });
  });
});

describe('requestFromEvent', () => {
  const detail = { instanceId: INSTANCE, contactId: 'c-9', queueId: QUEUE, contactFlowId: FLOW };

  it('is due now without "at", and at "at" otherwise', () => {
    // Act
    const now = requestFromEvent(detail, CREATED);
    const later = requestFromEvent({ ...detail, at: '2024-05-01T10:00:00Z' }, CREATED);
    // Assess
    expect(now).toMatchObject({
      status: 'PENDING',
      dueAt: CREATED,
      contactId: 'c-9',
      queueId: QUEUE,
      attempts: 0,
    });
    expect(later.dueAt).toBe(CREATED + 3_600_000);
  });

  it('derives the same plan id for a redelivered request, whenever it arrives', () => {
    // Act
    const first = requestFromEvent(detail, CREATED);
    const redelivered = requestFromEvent({ ...detail }, CREATED + 60_000);
    // Assess
    expect(redelivered.planId).toBe(first.planId);
    expect(first.planId).toMatch(/^evt-[0-9a-f]{32}$/);
  });

  it('derives different plan ids for different destinations, times or request ids', () => {
    // Act
    const ids = new Set(
      [
        detail,
        { ...detail, queueId: undefined, userId: USER },
        { ...detail, at: CREATED + 1 },
        { ...detail, requestId: 'second' },
        { ...detail, contactId: 'c-10' },
      ].map((d) => requestFromEvent(d, CREATED).planId),
    );
    // Assess
    expect(ids.size).toBe(5);
  });

  it('refuses both a queue and a user with a clear error', () => {
    // Act / Assess
    expect(() => requestFromEvent({ ...detail, userId: USER }, CREATED)).toThrow(
      /queueId: give exactly one of queueId or userId, never both/,
    );
  });

  it('refuses neither a queue nor a user', () => {
    // Act / Assess
    expect(() => requestFromEvent({ ...detail, queueId: undefined }, CREATED)).toThrow(
      /exactly one of queueId or userId/,
    );
  });

  it('refuses unknown fields, so a misspelt "at" never becomes "now"', () => {
    // Act / Assess
    expect(() => requestFromEvent({ ...detail, At: '2030-01-01T00:00:00Z' }, CREATED)).toThrow(
      TransferPlanError,
    );
  });

  it('refuses a request naming the contact by event until the ledger has resolved it', () => {
    // Prepare
    const byEvent = {
      instanceId: INSTANCE,
      source: 'crm',
      idempotencyKey: 'k',
      queueId: QUEUE,
      contactFlowId: FLOW,
    };
    // Act / Assess
    expect(parseTransferDetail(byEvent)).toMatchObject({ source: 'crm', idempotencyKey: 'k' });
    expect(() => requestFromEvent(byEvent, CREATED)).toThrow(/resolve it through the ledger/);
  });

  it('refuses a request naming the contact both ways', () => {
    // Act / Assess
    expect(() => requestFromEvent({ ...detail, source: 'crm', idempotencyKey: 'k' }, CREATED)).toThrow(
      /either by contactId, or by source \+ idempotencyKey/,
    );
  });

  it('derives plan ids that depend on every field (no separator collisions)', () => {
    // Act / Assess
    expect(eventPlanId({ instanceId: 'a', contactId: 'bc', contactFlowId: 'f', queueId: 'q' })).not.toBe(
      eventPlanId({ instanceId: 'ab', contactId: 'c', contactFlowId: 'f', queueId: 'q' }),
    );
  });
});
