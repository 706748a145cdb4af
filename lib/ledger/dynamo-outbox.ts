/**
 * The DynamoDB side of the ledger's contact progress, outbox and pending index (lib/ledger/port.ts):
 * functions over the ledger table that `DynamoLedger` delegates to.
 *
 * Every change is one single-item write: a task's facts, the effects they cause (`ob_<id>` attributes
 * and the `obCount` counter) and its place in the pending index (`pendPk`, `pendAt`) change together
 * or not at all, so an effect is never lost between a write and its performing. Progress writes are
 * conditional on the facts' revision `pgRev`; acknowledgements on the effect attribute still being
 * there.
 */
import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { type DynamoTable, isConditionFailure } from '#lib/aws/dynamo-table.ts';
import { OUTCOME_KEY_PREFIX } from '#lib/idempotency/token.ts';
import type { Effect } from '#lib/outcomes/effects.ts';
import {
  EFFECT_PREFIX,
  effectAttribute,
  effectsOf,
  expiresAtSeconds,
  factsOf,
  notifyOf,
  OUTBOX_PARTITION,
  openPartition,
  PENDING_INDEX,
  toLedgerEntry,
} from './codec.ts';
import { LedgerStoreError } from './errors.ts';
import { OUTBOX_GRACE_MS, type ProgressChange, type SentOutcome, type TaskProgress } from './port.ts';

/** How long a rejection's outbox item is kept if it is never acknowledged: the DLQ's 14 days. */
const OUTCOME_ITEM_RETENTION_MS = 14 * 24 * 60 * 60 * 1000;

/** An UpdateItem's parts, built clause by clause. */
class Update {
  readonly set: string[] = [];
  readonly remove: string[] = [];
  readonly add: string[] = [];
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  #n = 0;

  value(v: unknown): string {
    this.#n += 1;
    const key = `:v${this.#n}`;
    this.values[key] = v;
    return key;
  }

  name(attribute: string): string {
    this.#n += 1;
    const key = `#n${this.#n}`;
    this.names[key] = attribute;
    return key;
  }

  /** The effects as `ob_<id>` attributes, counted in `obCount`. */
  effects(effects: readonly Effect[]): void {
    for (const effect of effects) {
      this.set.push(`${this.name(effectAttribute(effect.id))} = ${this.value(JSON.stringify(effect))}`);
    }
    if (effects.length > 0) this.add.push(`obCount ${this.value(effects.length)}`);
  }

  expression(): string {
    return [
      this.set.length ? `SET ${this.set.join(', ')}` : '',
      this.remove.length ? `REMOVE ${this.remove.join(', ')}` : '',
      this.add.length ? `ADD ${this.add.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
  }
}

/** The item attributes of a new entry's effects: what `put` adds to the item. */
export function effectAttributes(effects: readonly Effect[]): Record<string, unknown> {
  if (effects.length === 0) return {};
  return {
    ...Object.fromEntries(effects.map((e) => [effectAttribute(e.id), JSON.stringify(e)])),
    obCount: effects.length,
  };
}

/** Runs an UpdateItem; false when its condition failed. */
async function update(
  db: DynamoTable,
  key: string,
  u: Update,
  condition: string | undefined,
  what: string,
): Promise<boolean> {
  try {
    await db.client.send(
      new UpdateItemCommand({
        TableName: db.table,
        Key: marshall({ clientToken: key }),
        UpdateExpression: u.expression(),
        ...(condition === undefined ? {} : { ConditionExpression: condition }),
        ...(Object.keys(u.names).length ? { ExpressionAttributeNames: u.names } : {}),
        ...(Object.keys(u.values).length
          ? { ExpressionAttributeValues: marshall(u.values, { removeUndefinedValues: true }) }
          : {}),
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw new LedgerStoreError(`could not ${what}`, { cause: error });
  }
}

export async function readItem(db: DynamoTable, key: string): Promise<Record<string, unknown> | undefined> {
  try {
    const out = await db.client.send(
      new GetItemCommand({ TableName: db.table, Key: marshall({ clientToken: key }), ConsistentRead: true }),
    );
    return out.Item ? unmarshall(out.Item) : undefined;
  } catch (error) {
    throw new LedgerStoreError('could not read a ledger item', { cause: error });
  }
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function sentOf(item: Record<string, unknown>): SentOutcome[] {
  const list = Array.isArray(item.obSent) ? item.obSent : [];
  return list.filter(
    (s): s is SentOutcome =>
      typeof s === 'object' && s !== null && typeof s.id === 'string' && typeof s.type === 'string',
  );
}

export async function readProgress(db: DynamoTable, clientToken: string): Promise<TaskProgress | undefined> {
  const item = await readItem(db, clientToken);
  if (item === undefined) return undefined;
  const notify = notifyOf(item);
  const closedAt = num(item.closedAt);
  const checkAt = num(item.checkAt);
  return {
    entry: toLedgerEntry(item),
    facts: factsOf(item),
    rev: num(item.pgRev) ?? 0,
    pending: Object.keys(item).filter((name) => name.startsWith(EFFECT_PREFIX)).length,
    sent: sentOf(item),
    ...(notify === undefined ? {} : { notify }),
    ...(closedAt === undefined ? {} : { closedAt }),
    ...(checkAt === undefined ? {} : { checkAt }),
  };
}

export function saveProgress(
  db: DynamoTable,
  clientToken: string,
  rev: number,
  change: ProgressChange,
): Promise<boolean> {
  const u = new Update();
  u.set.push(`facts = ${u.value(change.facts)}`, `pgRev = ${u.value(rev + 1)}`);
  u.effects(change.effects);
  // Effects are due to the sweep after their writer's grace; otherwise the item waits for its check.
  const pendAt = change.effects.length > 0 ? change.now + OUTBOX_GRACE_MS : change.checkAt;
  if (change.checkAt !== undefined) u.set.push(`checkAt = ${u.value(change.checkAt)}`);
  if (change.closedAt !== undefined) {
    // Ended: it leaves its instance's open tasks for the outbox partition, which the sweep settles
    // (and reads with DescribeContact first when the change keeps a check).
    u.set.push(`closedAt = ${u.value(change.closedAt)}`, `pendPk = ${u.value(OUTBOX_PARTITION)}`);
    u.set.push(`pendAt = ${u.value(pendAt ?? change.now + OUTBOX_GRACE_MS)}`);
    if (change.checkAt === undefined) u.remove.push('checkAt');
  } else {
    u.set.push(`pendPk = if_not_exists(pendPk, ${u.value(openPartition(change.instanceId))})`);
    if (pendAt !== undefined) u.set.push(`pendAt = ${u.value(pendAt)}`);
  }
  const condition = `attribute_exists(clientToken) AND ${rev === 0 ? 'attribute_not_exists(pgRev)' : `pgRev = ${u.value(rev)}`}`;
  return update(db, clientToken, u, condition, 'record the contact progress of the task');
}

export async function deferCheck(db: DynamoTable, clientToken: string, checkAt: number): Promise<void> {
  const idle = new Update();
  idle.set.push(`checkAt = ${idle.value(checkAt)}`, `pendAt = ${idle.value(checkAt)}`);
  const zero = idle.value(0);
  const moved = await update(
    db,
    clientToken,
    idle,
    `attribute_exists(clientToken) AND attribute_not_exists(closedAt) AND (attribute_not_exists(obCount) OR obCount = ${zero})`,
    'move the reconcile check of the task',
  );
  if (moved) return;
  // Effects are pending: the index keeps their earlier time; only the check moves.
  const busy = new Update();
  busy.set.push(`checkAt = ${busy.value(checkAt)}`);
  await update(
    db,
    clientToken,
    busy,
    'attribute_exists(clientToken) AND attribute_not_exists(closedAt)',
    'move the reconcile check of the task',
  );
}

export async function dropCheck(db: DynamoTable, clientToken: string): Promise<void> {
  const u = new Update();
  u.remove.push('checkAt');
  await update(
    db,
    clientToken,
    u,
    'attribute_exists(clientToken) AND attribute_exists(closedAt)',
    'drop the reconcile check of an ended task',
  );
}

/** Keys of the partition's items due by `dueBy`, soonest first, or their count (Select COUNT). */
async function queryPending(
  db: DynamoTable,
  partition: string,
  dueBy: number | undefined,
  limit: number | undefined,
  count: boolean,
): Promise<{ keys: string[]; count: number }> {
  const keys: string[] = [];
  let total = 0;
  let start: Record<string, unknown> | undefined;
  do {
    try {
      const out = await db.client.send(
        new QueryCommand({
          TableName: db.table,
          IndexName: PENDING_INDEX,
          KeyConditionExpression: dueBy === undefined ? 'pendPk = :p' : 'pendPk = :p AND pendAt <= :d',
          ExpressionAttributeValues: marshall(
            dueBy === undefined ? { ':p': partition } : { ':p': partition, ':d': dueBy },
          ),
          ...(count ? { Select: 'COUNT' } : {}),
          ...(limit === undefined ? {} : { Limit: limit - (count ? total : keys.length) }),
          ...(start === undefined ? {} : { ExclusiveStartKey: marshall(start) }),
        }),
      );
      total += out.Count ?? 0;
      for (const item of out.Items ?? []) keys.push(String(unmarshall(item).clientToken));
      start = out.LastEvaluatedKey ? unmarshall(out.LastEvaluatedKey) : undefined;
    } catch (error) {
      throw new LedgerStoreError('could not query the ledger pending index', { cause: error });
    }
  } while (start !== undefined && (limit === undefined || (count ? total : keys.length) < limit));
  return { keys, count: total };
}

export async function openTasks(db: DynamoTable, instanceId: string, limit?: number): Promise<number> {
  return (await queryPending(db, openPartition(instanceId), undefined, limit, true)).count;
}

export async function duePending(
  db: DynamoTable,
  partition: string,
  dueBy: number,
  limit: number,
): Promise<string[]> {
  return (await queryPending(db, partition, dueBy, limit, false)).keys;
}

export async function pendingEffects(db: DynamoTable, key: string): Promise<Effect[]> {
  const item = await readItem(db, key);
  return item === undefined ? [] : effectsOf(item);
}

export async function putEffects(
  db: DynamoTable,
  key: string,
  effects: readonly Effect[],
  now: number,
): Promise<boolean> {
  try {
    await db.client.send(
      new PutItemCommand({
        TableName: db.table,
        Item: marshall({
          clientToken: key,
          ...effectAttributes(effects),
          pendPk: OUTBOX_PARTITION,
          pendAt: now + OUTBOX_GRACE_MS,
          expiresAt: expiresAtSeconds(now, OUTCOME_ITEM_RETENTION_MS),
        }),
        // A repeated rejection of the same event writes nothing: the first recorded one wins.
        ConditionExpression: 'attribute_not_exists(clientToken)',
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw new LedgerStoreError('could not record the outcome', { cause: error });
  }
}

export async function ackEffect(db: DynamoTable, key: string, effect: Effect, now: number): Promise<void> {
  const u = new Update();
  const attribute = u.name(effectAttribute(effect.id));
  u.remove.push(attribute);
  u.add.push(`obCount ${u.value(-1)}`);
  if (effect.kind === 'publish' && !key.startsWith(OUTCOME_KEY_PREFIX)) {
    const sent: SentOutcome = { id: effect.id, type: effect.outcome.type, at: now };
    u.set.push(`obSent = list_append(if_not_exists(obSent, ${u.value([])}), ${u.value([sent])})`);
  }
  await update(db, key, u, `attribute_exists(${attribute})`, 'acknowledge an effect');
}

export async function settle(db: DynamoTable, key: string): Promise<void> {
  const item = await readItem(db, key);
  if (item === undefined || effectsOf(item).length > 0) return;
  const u = new Update();
  const idle = `(attribute_not_exists(obCount) OR obCount = ${u.value(0)})`;
  if (key.startsWith(OUTCOME_KEY_PREFIX)) {
    // A rejection's item leaves the index but stays until it expires: its first recorded outcome wins.
    if (item.pendPk === undefined) return;
    u.remove.push('pendPk', 'pendAt');
    await update(db, key, u, `attribute_exists(clientToken) AND ${idle}`, 'settle an outcome item');
    return;
  }
  const checkAt = num(item.checkAt);
  const ended = num(item.closedAt) !== undefined;
  if (checkAt !== undefined) {
    // It waits in its partition for its check: an open task's, or the one DescribeContact reading of a
    // task ended on our own call alone.
    u.set.push(`pendAt = ${u.value(checkAt)}`);
    const state = ended ? 'attribute_exists(closedAt)' : 'attribute_not_exists(closedAt)';
    await update(db, key, u, `${idle} AND ${state} AND checkAt = ${u.value(checkAt)}`, 'settle a task');
  } else if (ended) {
    u.remove.push('pendPk', 'pendAt');
    await update(db, key, u, `${idle} AND attribute_exists(closedAt)`, 'settle an ended task');
  }
}

/** The UpdateItem parts that record effects with a lifecycle commit (kept in the index by `now + grace`). */
export function lifecycleEffects(
  effects: readonly Effect[],
  now: number,
): { set: string[]; add: string[]; names: Record<string, string>; values: Record<string, unknown> } {
  const u = new Update();
  u.effects(effects);
  if (effects.length > 0) {
    u.set.push(
      `pendPk = if_not_exists(pendPk, ${u.value(OUTBOX_PARTITION)})`,
      `pendAt = ${u.value(now + OUTBOX_GRACE_MS)}`,
    );
  }
  return { set: u.set, add: u.add, names: u.names, values: u.values };
}
