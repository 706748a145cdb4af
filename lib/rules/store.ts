/**
 * The rules store: where per-source rules live (the rules table, partition key `source`, sort key
 * `ruleId`).
 *
 * `RuleStore` is the port the rest of the service depends on; `DynamoRuleStore` is its DynamoDB
 * adapter. Writes are validated first (`validateRule`: zod shape + every JSONata expression
 * compiled), so a bad rule is refused before anything is stored. Reads return the stored document
 * as it is (`RuleRecord.document`, not a `Rule`): a rule written by an older schema, or edited by
 * hand in the console, may no longer validate, and whoever reads it (the rule provider, the CLI)
 * decides what to do about that instead of the whole read failing.
 *
 * Item format: the rule document itself (the validated rule, defaults applied) plus two
 * bookkeeping attributes, `version` (1 on create, +1 on every put) and `updatedAt` (ISO-8601).
 * A put reads the current version and writes with a condition on it, so two concurrent puts of the
 * same rule cannot silently overwrite each other: the loser gets a `RuleConflictError`.
 */

import type { AttributeValue, PutItemCommandInput } from '@aws-sdk/client-dynamodb';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { TaskLimits } from '#lib/connect/constraints.ts';
import { isNonNegativeInteger } from '#lib/guards.ts';
import { validateRule } from '#lib/rules/compile.ts';
import type { Rule } from '#lib/rules/schema.ts';
import { RuleConflictError, RuleStoreError, RuleValidationError } from './errors.ts';

/** Bookkeeping the store adds to every rule it writes. */
interface RuleMeta {
  /** 1 on create, incremented by every put. */
  version: number;
  /** ISO-8601 time of the last put. */
  updatedAt: string;
}

/** A validated rule as it was written, with its bookkeeping. */
export type StoredRule = Rule & RuleMeta;

/** One item of the rules table as read back: keys, bookkeeping and the raw rule document. */
export interface RuleRecord extends RuleMeta {
  source: string;
  ruleId: string;
  /** The rule document without `version`/`updatedAt`; validate it before use (`validateRule`). */
  document: Record<string, unknown>;
}

export interface PutRuleOptions {
  /**
   * Optimistic concurrency: write only if the stored rule has this version (0 means "must not
   * exist yet"). Without it, the put is still safe against a concurrent put (see the module doc).
   */
  expectedVersion?: number;
}

export interface DeleteRuleOptions {
  /** Delete only if the stored rule has this version. */
  expectedVersion?: number;
}

/** The port: what the service and the CLI need from wherever rules are kept. */
export interface RuleStore {
  /** Validates `input` and writes it; a bad rule throws `RuleValidationError` before anything is written. */
  put(input: unknown, options?: PutRuleOptions): Promise<StoredRule>;
  /** The stored rule, or undefined when there is none. */
  get(source: string, ruleId: string): Promise<RuleRecord | undefined>;
  /** Every rule of one source (ordered by ruleId), or of every source (ordered by source, ruleId). */
  list(source?: string): Promise<RuleRecord[]>;
  /** Deletes the rule; resolves true when it existed. */
  delete(source: string, ruleId: string, options?: DeleteRuleOptions): Promise<boolean>;
}

export interface DynamoRuleStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /**
   * The time in epoch ms, for `updatedAt`.
   * @default Date.now
   */
  now?: () => number;
  /**
   * The Connect limits rules are validated against (attribute keys, reference keys).
   * @default the documented ones
   */
  limits?: TaskLimits;
  /**
   * The stage's Connect instances (connectInstanceIds): a rule naming another instance is refused with
   * a `RuleValidationError` before anything is written. Undefined: any instance.
   */
  allowedInstanceIds?: readonly string[];
}

const META_KEYS = new Set(['version', 'updatedAt']);

/** The DynamoDB adapter of `RuleStore` (table shape: serverless.yml `RulesTable`). */
export class DynamoRuleStore implements RuleStore {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #now: () => number;
  readonly #limits: TaskLimits | undefined;
  readonly #allowedInstanceIds: readonly string[] | undefined;

  constructor(options: DynamoRuleStoreOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#now = options.now ?? Date.now;
    this.#limits = options.limits;
    this.#allowedInstanceIds = options.allowedInstanceIds;
  }

  /**
   * Writes a rule.
   * Input: any value (a parsed rule file); optional expected version.
   * Output: the rule as stored, with its new version.
   * Primary course: validate (refuse with every error, nothing written) → read the current
   * version (consistent read) → conditional put of version+1 on that version (or on "does not
   * exist") → a failed condition means someone else wrote in between: `RuleConflictError`.
   */
  async put(input: unknown, options: PutRuleOptions = {}): Promise<StoredRule> {
    const result = validateRule(input, this.#limits, {
      ...(this.#allowedInstanceIds === undefined ? {} : { allowedInstanceIds: this.#allowedInstanceIds }),
    });
    if (!result.ok) throw new RuleValidationError(result.errors);
    const { rule } = result;

    const current = await this.#currentVersion(rule.source, rule.ruleId);
    const currentVersion = current.version ?? 0;
    if (options.expectedVersion !== undefined && options.expectedVersion !== currentVersion) {
      throw new RuleConflictError(
        rule.source,
        rule.ruleId,
        `expected version ${options.expectedVersion}, stored version is ${currentVersion}`,
      );
    }
    const stored: StoredRule = {
      ...rule,
      version: currentVersion + 1,
      updatedAt: new Date(this.#now()).toISOString(),
    };
    const condition: Pick<
      PutItemCommandInput,
      'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    > = !current.exists
      ? {
          ConditionExpression: 'attribute_not_exists(#source)',
          ExpressionAttributeNames: { '#source': 'source' },
        }
      : current.version === undefined
        ? // An item written without a version (by hand): it must still be without one.
          {
            ConditionExpression: 'attribute_exists(#source) AND attribute_not_exists(#version)',
            ExpressionAttributeNames: { '#source': 'source', '#version': 'version' },
          }
        : {
            ConditionExpression: '#version = :current',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':current': { N: String(current.version) } },
          };
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#tableName,
          Item: marshall(stored, { removeUndefinedValues: true }),
          ...condition,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new RuleConflictError(
          rule.source,
          rule.ruleId,
          `was changed concurrently (read version ${currentVersion}); read it again and retry`,
          { cause: error },
        );
      }
      throw new RuleStoreError(`writing rule ${rule.ruleId} of source ${rule.source} failed`, {
        cause: error,
      });
    }
    return stored;
  }

  /** Reads one rule (consistent read). Output: the record, or undefined. */
  async get(source: string, ruleId: string): Promise<RuleRecord | undefined> {
    try {
      const { Item } = await this.#client.send(
        new GetItemCommand({ TableName: this.#tableName, Key: key(source, ruleId), ConsistentRead: true }),
      );
      return Item === undefined ? undefined : toRecord(Item);
    } catch (error) {
      throw new RuleStoreError(`reading rule ${ruleId} of source ${source} failed`, { cause: error });
    }
  }

  /**
   * Lists rules.
   * Input: a source (Query on the partition) or nothing (Scan of the table).
   * Output: every record, following pagination to the end, ordered by source then ruleId.
   */
  async list(source?: string): Promise<RuleRecord[]> {
    const records: RuleRecord[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    try {
      do {
        const page =
          source === undefined
            ? await this.#client.send(
                new ScanCommand({
                  TableName: this.#tableName,
                  ConsistentRead: true,
                  ExclusiveStartKey: startKey,
                }),
              )
            : await this.#client.send(
                new QueryCommand({
                  TableName: this.#tableName,
                  ConsistentRead: true,
                  KeyConditionExpression: '#source = :source',
                  ExpressionAttributeNames: { '#source': 'source' },
                  ExpressionAttributeValues: { ':source': { S: source } },
                  ExclusiveStartKey: startKey,
                }),
              );
        for (const item of page.Items ?? []) records.push(toRecord(item));
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
    } catch (error) {
      const what = source === undefined ? 'all rules' : `rules of source ${source}`;
      throw new RuleStoreError(`listing ${what} failed`, { cause: error });
    }
    return records.sort((a, b) => compare(a.source, b.source) || compare(a.ruleId, b.ruleId));
  }

  /** Deletes one rule. Output: true when it existed. A version mismatch throws `RuleConflictError`. */
  async delete(source: string, ruleId: string, options: DeleteRuleOptions = {}): Promise<boolean> {
    const condition =
      options.expectedVersion === undefined
        ? {}
        : {
            ConditionExpression: '#version = :expected',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':expected': { N: String(options.expectedVersion) } },
          };
    try {
      const { Attributes } = await this.#client.send(
        new DeleteItemCommand({
          TableName: this.#tableName,
          Key: key(source, ruleId),
          ReturnValues: 'ALL_OLD',
          ...condition,
        }),
      );
      return Attributes !== undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new RuleConflictError(source, ruleId, `is not at version ${options.expectedVersion}`, {
          cause: error,
        });
      }
      throw new RuleStoreError(`deleting rule ${ruleId} of source ${source} failed`, { cause: error });
    }
  }

  /** The stored version (undefined when the item has none, e.g. written by hand). */
  async #currentVersion(source: string, ruleId: string): Promise<{ exists: boolean; version?: number }> {
    try {
      const { Item } = await this.#client.send(
        new GetItemCommand({
          TableName: this.#tableName,
          Key: key(source, ruleId),
          ConsistentRead: true,
          ProjectionExpression: '#source, #version',
          ExpressionAttributeNames: { '#source': 'source', '#version': 'version' },
        }),
      );
      if (Item === undefined) return { exists: false };
      const raw = Item.version?.N;
      const version = raw === undefined ? Number.NaN : Number(raw);
      return isNonNegativeInteger(version) ? { exists: true, version } : { exists: true };
    } catch (error) {
      throw new RuleStoreError(`reading rule ${ruleId} of source ${source} failed`, { cause: error });
    }
  }
}

function key(source: string, ruleId: string): Record<string, AttributeValue> {
  return { source: { S: source }, ruleId: { S: ruleId } };
}

function toRecord(item: Record<string, AttributeValue>): RuleRecord {
  const plain = unmarshall(item) as Record<string, unknown>;
  const document: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(plain)) {
    if (!META_KEYS.has(name)) document[name] = value;
  }
  const version = typeof plain.version === 'number' ? plain.version : Number(plain.version ?? 0);
  return {
    source: String(plain.source),
    ruleId: String(plain.ruleId),
    version: Number.isFinite(version) ? version : 0,
    updatedAt: typeof plain.updatedAt === 'string' ? plain.updatedAt : '',
    document,
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
