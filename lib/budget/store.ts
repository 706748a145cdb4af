/**
 * The budget's shared state in DynamoDB: one item per Connect operation whose quota the service
 * spends, plus one statistics item per operation and minute.
 *
 * Table (serverless.yml, BudgetTable): partition key `id` (S), TTL `expiresAt` (epoch seconds).
 *
 * Budget item, `id` = the operation (`StartTaskContact`, `TransferContact`):
 * - `tat`: epoch ms of the next free call slot (the theoretical arrival time of GCRA, the generic
 *   cell rate algorithm). A claim books the slot `max(tat, now)` and moves `tat` one interval on,
 *   in one conditional UpdateItem, so the slots of every instance are one interval apart.
 * - `wmax`, `throttleAt`: the curve state (lib/budget/curve.ts: `wmax` holds the hold); absent until the first throttle.
 * - `ceiling`: the configured requests/s, written by every claim (for `task-ingest status`).
 * - `demandUntil_<lane>`: epoch ms until which a waiter of that lane holds a booked slot (its slot
 *   plus half an interval). While a higher lane's demand lasts, a lower lane may only take a slot
 *   that is free now, never book ahead of it, except for its floor share.
 * - `floorAt_<lane>`: epoch ms of the lane's last slot.
 * - `fallbackAt`: epoch ms an instance last fell back to its local rate (written when it is back).
 *
 * Statistics item, `id` = `<operation>#<epochMinute>`: `calls`, `throttled`, `granted_<lane>`,
 * `waitMs_<lane>` (ADD), `expiresAt` (one day).
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { LANES, type Lane } from '#lib/lanes.ts';
import { BudgetStoreError } from './errors.ts';

export interface BudgetItem {
  tat?: number;
  wmax?: number;
  throttleAt?: number;
  ceiling?: number;
  demandUntil: Partial<Record<Lane, number>>;
  floorAt: Partial<Record<Lane, number>>;
}

export interface ClaimInput {
  lane: Lane;
  now: number;
  /** Slot spacing at the current rate, ms. */
  intervalMs: number;
  ceiling: number;
  /** `idle`: the schedule is free now (tat ≤ now); `ahead`: book the slot at tat. */
  mode: 'idle' | 'ahead';
  /** `ahead` only: the latest tat this claim may book (now + horizon). */
  latest: number;
  /** `ahead` only: lanes whose demand blocks booking ahead, unless the floor is due. */
  higher: readonly Lane[];
  /** `ahead` only: the floor is due when the lane's last slot is at or before this. */
  floorDue: number;
}

export type ClaimResult = { granted: true; slot: number; item: BudgetItem } | { granted: false };

export interface StatsDelta {
  calls: number;
  throttled: number;
  granted: Partial<Record<Lane, number>>;
  waitMs: Partial<Record<Lane, number>>;
}

/** The port the budget depends on; DynamoBudgetStore implements it. */
export interface BudgetStore {
  /** Books one slot, or reports that the conditions did not hold (nothing written). */
  claim(input: ClaimInput): Promise<ClaimResult>;
  /** The item as it is now (strongly consistent); an empty item when none exists. */
  read(): Promise<BudgetItem>;
  /**
   * Records a decrease: Wmax and the time, unless another decrease is more recent than `since`; then
   * moves the next free slot to `resumeAt` unless it is already later (Connect's bucket is empty:
   * a short pause lets it refill instead of throttling the next calls, ours and others').
   * Output: the item after the writes, or undefined when the decrease's condition did not hold.
   */
  throttled(input: ThrottleInput): Promise<BudgetItem | undefined>;
  /** Records when an instance last had to pace locally (written once it reaches the table again). */
  markFallback(at: number): Promise<void>;
  /** Adds one instance's counts to the minute's statistics item. */
  addStats(minute: number, delta: StatsDelta): Promise<void>;
}

export interface ThrottleInput {
  now: number;
  wmax: number;
  since: number;
  resumeAt: number;
}

const STATS_RETENTION_SECONDS = 24 * 3600;

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Decodes a stored budget item (unknown attributes ignored; a missing item is empty). */
function toBudgetItem(raw: Record<string, unknown> | undefined): BudgetItem {
  const item: BudgetItem = { demandUntil: {}, floorAt: {} };
  if (!raw) return item;
  for (const key of ['tat', 'wmax', 'throttleAt', 'ceiling'] as const) {
    const v = num(raw[key]);
    if (v !== undefined) item[key] = v;
  }
  for (const lane of LANES) {
    const d = num(raw[`demandUntil_${lane}`]);
    if (d !== undefined) item.demandUntil[lane] = d;
    const f = num(raw[`floorAt_${lane}`]);
    if (f !== undefined) item.floorAt[lane] = f;
  }
  return item;
}

/** The condition and update of one claim (exported for the unit tests of the expressions). */
function claimExpressions(input: ClaimInput): {
  update: string;
  condition: string;
  values: Record<string, number>;
} {
  const { lane } = input;
  // DynamoDB refuses values an expression does not use: each mode names exactly its own.
  const values: Record<string, number> = { ':now': input.now, ':c': input.ceiling };
  if (input.mode === 'idle') {
    values[':next'] = input.now + input.intervalMs;
    values[':du'] = input.now + input.intervalMs / 2;
    return {
      update: `SET tat = :next, ceiling = :c, demandUntil_${lane} = :du, floorAt_${lane} = :now`,
      condition: 'attribute_not_exists(tat) OR tat <= :now',
      values,
    };
  }
  values[':i'] = input.intervalMs;
  values[':hold'] = input.intervalMs / 2;
  values[':latest'] = input.latest;
  // DynamoDB refuses redundant parentheses, and AND binds tighter than OR: one blocker is written
  // bare inside the OR, several as AND-ed groups.
  const blockers = input.higher.map(
    (h) => `attribute_not_exists(demandUntil_${h}) OR demandUntil_${h} <= :now`,
  );
  let priority = '';
  if (blockers.length > 0) {
    values[':floorDue'] = input.floorDue;
    const free = blockers.length === 1 ? blockers[0] : blockers.map((b) => `(${b})`).join(' AND ');
    priority = ` AND (${free} OR attribute_not_exists(floorAt_${lane}) OR floorAt_${lane} <= :floorDue)`;
  }
  return {
    // Right-hand sides read the item as it was before the update: the slot booked is the old tat.
    update: `SET tat = tat + :i, ceiling = :c, demandUntil_${lane} = tat + :hold, floorAt_${lane} = tat`,
    condition: `tat > :now AND tat <= :latest${priority}`,
    values,
  };
}

export interface DynamoBudgetStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  operation: string;
  /**
   * A store call slower than this (ms) fails, and the budget falls back to its local rate.
   * @default 1000
   */
  timeoutMs?: number;
}

export class DynamoBudgetStore implements BudgetStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #id: string;
  readonly #timeoutMs: number;

  constructor(options: DynamoBudgetStoreOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#id = options.operation;
    this.#timeoutMs = options.timeoutMs ?? 1_000;
  }

  /**
   * One UpdateItem on the item `id` (default: this operation's budget item).
   * Output: the returned attributes, or undefined when the condition did not hold.
   */
  async #update(
    what: string,
    input: {
      id?: string;
      update: string;
      condition?: string;
      values: Record<string, number>;
      returnValues?: 'ALL_OLD' | 'NONE';
    },
  ): Promise<{ attributes: Record<string, unknown> | undefined } | undefined> {
    try {
      const out = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: marshall({ id: input.id ?? this.#id }),
          UpdateExpression: input.update,
          ...(input.condition ? { ConditionExpression: input.condition } : {}),
          ExpressionAttributeValues: marshall(input.values),
          ReturnValues: input.returnValues ?? 'NONE',
        }),
        { abortSignal: AbortSignal.timeout(this.#timeoutMs) },
      );
      return { attributes: out.Attributes ? unmarshall(out.Attributes) : undefined };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw new BudgetStoreError(`budget ${what} failed: ${(error as Error).name ?? 'Error'}`, {
        cause: error,
      });
    }
  }

  async claim(input: ClaimInput): Promise<ClaimResult> {
    const { update, condition, values } = claimExpressions(input);
    const out = await this.#update('claim', { update, condition, values, returnValues: 'ALL_OLD' });
    if (!out) return { granted: false };
    const old = toBudgetItem(out.attributes);
    const slot = input.mode === 'idle' ? input.now : (old.tat ?? input.now);
    const item: BudgetItem = {
      ...old,
      tat: slot + input.intervalMs,
      ceiling: input.ceiling,
      demandUntil: { ...old.demandUntil, [input.lane]: slot + input.intervalMs / 2 },
      floorAt: { ...old.floorAt, [input.lane]: slot },
    };
    return { granted: true, slot, item };
  }

  async read(): Promise<BudgetItem> {
    try {
      const out = await this.#client.send(
        new GetItemCommand({ TableName: this.#table, Key: marshall({ id: this.#id }), ConsistentRead: true }),
        { abortSignal: AbortSignal.timeout(this.#timeoutMs) },
      );
      return toBudgetItem(out.Item ? unmarshall(out.Item) : undefined);
    } catch (error) {
      throw new BudgetStoreError(`budget read failed: ${(error as Error).name ?? 'Error'}`, { cause: error });
    }
  }

  async throttled(input: ThrottleInput): Promise<BudgetItem | undefined> {
    const decreased = await this.#update('decrease', {
      update: 'SET wmax = :w, throttleAt = :now',
      condition: 'attribute_not_exists(throttleAt) OR throttleAt <= :since',
      values: { ':w': input.wmax, ':now': input.now, ':since': input.since },
    });
    if (!decreased) return undefined;
    await this.#update('pause', {
      update: 'SET tat = :resume',
      condition: 'attribute_not_exists(tat) OR tat < :resume',
      values: { ':resume': input.resumeAt },
    });
    return this.read();
  }

  async markFallback(at: number): Promise<void> {
    await this.#update('fallback mark', { update: 'SET fallbackAt = :at', values: { ':at': at } });
  }

  async addStats(minute: number, delta: StatsDelta): Promise<void> {
    const adds: string[] = ['calls :calls', 'throttled :throttled'];
    const values: Record<string, number> = {
      ':calls': delta.calls,
      ':throttled': delta.throttled,
      ':exp': (minute + 1) * 60 + STATS_RETENTION_SECONDS,
    };
    for (const lane of LANES) {
      const granted = delta.granted[lane];
      if (granted) {
        adds.push(`granted_${lane} :g_${lane}`, `waitMs_${lane} :w_${lane}`);
        values[`:g_${lane}`] = granted;
        values[`:w_${lane}`] = Math.round(delta.waitMs[lane] ?? 0);
      }
    }
    await this.#update('statistics', {
      id: `${this.#id}#${minute}`,
      update: `ADD ${adds.join(', ')} SET expiresAt = :exp`,
      values,
    });
  }
}
