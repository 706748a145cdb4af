/**
 * The demo the sandbox runs on `npm start`: sample task templates, rules and upstream messages from
 * `events/demo/manifest.json`, and a summary of what became of them (tasks created, DLQ entries
 * with their reasons). The e2e test runs the same demo.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConnectClient } from '@aws-sdk/client-connect';
import {
  ChangeMessageVisibilityCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { expandJsonPaths } from '#common/files.ts';
import { applyTemplates } from '#lib/connect/template-apply.ts';
import { validateTemplateFile } from '#lib/connect/template-spec.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import { readDlqMessage } from '#lib/retry/dlq-message.ts';
import { applyRulePlan, checkRuleDocuments, planRules } from '#lib/rules/apply.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';
import { DynamoTransferStore } from '#lib/transfers/store/dynamo-store.ts';
import type { TransferItem } from '#lib/transfers/store/port.ts';
import type { Sandbox } from './index.ts';

export interface DemoMessage {
  /** A sample under events/messages/: `{body, messageAttributes}` (body sent as JSON text). */
  sample?: string;
  /** An inline body, sent byte-for-byte. */
  body?: string;
  attributes?: Record<string, string>;
  /**
   * Sent only once what was sent before it has been processed (`sendDemoMessages`' `idle`): the demo's
   * update and close of a case come after its create, in that order. (Upstream order is not needed —
   * an early update waits for its create — but a close that overtakes an update makes the update stale.)
   */
  afterIdle?: boolean;
  /** What the demo expects of it, shown in the summary. */
  note?: string;
}

export interface DemoManifest {
  templates: string[];
  /** Rule files, or directories of `*.json` rule files (applied as `task-ingest rules apply` does). */
  rules: string[];
  messages: DemoMessage[];
  /** Sent by the --once scenario while the instance is at its active-task quota. */
  overQuota?: DemoMessage;
}

export interface DemoSummary {
  messagesSent: number;
  tasks: Array<{
    contactId: string;
    name: string;
    source?: string;
    transfers: number;
    /** From the ledger: an update rule changed it / a complete rule completed it. */
    updated?: boolean;
    completed?: boolean;
  }>;
  transfers: Array<Pick<TransferItem, 'contactId' | 'planId' | 'status' | 'dueAt' | 'reason'>>;
  dlq: Array<{
    messageId: string;
    class: string;
    code: string;
    reason: string;
    source?: string;
    body: string;
  }>;
}

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');

export function loadManifest(path = resolve(root, 'events/demo/manifest.json')): DemoManifest {
  return JSON.parse(readFileSync(path, 'utf8')) as DemoManifest;
}

function connectClient(sandbox: Sandbox) {
  return new ConnectClient({
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

/**
 * Applies the template files (`events/templates/`, matched by name: the files are the source of
 * truth; a template of the world with the same name is updated to match, or left alone when equal),
 * then applies the rules (files, or directories of `*.json` files; `${template:<Name>}` replaced by
 * the templates' ids) as `task-ingest rules apply` does: an equal stored rule is left unchanged.
 */
export async function seedDemo(
  sandbox: Sandbox,
  manifest: DemoManifest,
): Promise<{ templates: Record<string, string> }> {
  const connect = connectClient(sandbox);
  const templates: Record<string, string> = {};
  try {
    const specs = manifest.templates.map((file) => {
      const result = validateTemplateFile(JSON.parse(readFileSync(resolve(root, file), 'utf8')));
      if (!result.ok) throw new Error(`${file} is not a valid template file: ${result.errors.join('; ')}`);
      return result.spec;
    });
    const instanceId = sandbox.environment.CONNECT_INSTANCE_ID as string;
    for (const { plan, id } of await applyTemplates(connect, instanceId, specs)) {
      if (plan.action === 'refused') throw new Error(`template "${plan.name}": ${plan.problems.join('; ')}`);
      if (id === undefined) throw new Error(`template "${plan.name}" has no id after the apply`);
      templates[plan.name] = id;
    }
  } finally {
    connect.destroy();
  }
  const store = new DynamoRuleStore({
    client: sandbox.clients.dynamodb,
    tableName: sandbox.environment.RULES_TABLE as string,
    now: sandbox.clock.now,
  });
  // Rules as code, as `task-ingest rules apply` does it: every file checked first, then written.
  const { files } = expandJsonPaths(manifest.rules.map((path) => resolve(root, path)));
  const documents = files.map((file) => ({
    file,
    document: JSON.parse(withTemplateIds(readFileSync(file, 'utf8'), file, templates)) as unknown,
  }));
  const checked = checkRuleDocuments(documents);
  if (!checked.ok) throw new Error(`invalid rule files: ${checked.problems.join('; ')}`);
  const applied = await applyRulePlan(store, await planRules(store, checked.rules));
  const conflicts = applied.filter((a) => a.outcome === 'conflict').map((a) => a.problem);
  if (conflicts.length > 0) throw new Error(`rules not applied: ${conflicts.join('; ')}`);
  return { templates };
}

/** `${template:<Name>}` in a rule file becomes the id of the template of that name. */
function withTemplateIds(text: string, file: string, templates: Record<string, string>): string {
  return text.replace(/\$\{template:([^}]+)\}/g, (_m, name: string) => {
    const id = templates[name];
    if (!id) throw new Error(`${file} refers to template "${name}", which the manifest does not create`);
    return id;
  });
}

export async function sendDemoMessages(
  sandbox: Sandbox,
  manifest: DemoManifest,
  messages: DemoMessage[] = manifest.messages,
  /** Awaited before each `afterIdle` message (the pipeline's idle); without it they are sent at once. */
  idle?: () => Promise<void>,
): Promise<number> {
  const queueUrl = sandbox.environment.INGEST_QUEUE_URL as string;
  for (const message of messages) {
    if (message.afterIdle) await idle?.();
    let body = message.body ?? '';
    const attributes: Record<string, MessageAttributeValue> = {};
    if (message.sample) {
      const sample = JSON.parse(readFileSync(resolve(root, message.sample), 'utf8')) as {
        body: unknown;
        messageAttributes?: Record<string, MessageAttributeValue>;
      };
      body = JSON.stringify(sample.body);
      Object.assign(attributes, sample.messageAttributes ?? {});
    }
    for (const [k, v] of Object.entries(message.attributes ?? {}))
      attributes[k] = { DataType: 'String', StringValue: v };
    await sandbox.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        ...(Object.keys(attributes).length ? { MessageAttributes: attributes } : {}),
      }),
    );
  }
  return messages.length;
}

/** Tasks from the Connect emulator; DLQ entries read without consuming them (visibility reset to 0). */
export async function summarize(sandbox: Sandbox, messagesSent: number): Promise<DemoSummary> {
  const ledger = new DynamoLedger({
    client: sandbox.clients.dynamodb,
    tableName: sandbox.environment.LEDGER_TABLE as string,
  });
  const tasks: DemoSummary['tasks'] = [];
  for (const c of sandbox.connect.contacts({ channel: 'TASK' })) {
    const lifecycle = c.ClientToken ? (await ledger.lifecycle(c.ClientToken))?.lifecycle : undefined;
    tasks.push({
      contactId: c.ContactId,
      name: c.Name ?? '',
      transfers: c.Transfers ?? 0,
      ...(lifecycle?.lastEventId ? { updated: true } : {}),
      ...(lifecycle?.completedAt !== undefined ? { completed: true } : {}),
    });
  }
  const transferStore = new DynamoTransferStore({
    client: sandbox.clients.dynamodb,
    tableName: sandbox.environment.TRANSFERS_TABLE as string,
  });
  const transfers: DemoSummary['transfers'] = [];
  let cursor: string | undefined;
  do {
    const page = await transferStore.list({ limit: 100, ...(cursor ? { cursor } : {}) });
    for (const t of page.items) {
      transfers.push({
        contactId: t.contactId,
        planId: t.planId,
        status: t.status,
        dueAt: t.dueAt,
        ...(t.reason ? { reason: t.reason } : {}),
      });
    }
    cursor = page.cursor;
  } while (cursor);
  const dlq: DemoSummary['dlq'] = [];
  const seen = new Set<string>();
  const handles: string[] = [];
  const dlqUrl = sandbox.environment.DLQ_URL as string;
  for (let round = 0; round < 50; round += 1) {
    const out = await sandbox.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 5,
        WaitTimeSeconds: 0,
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    for (const m of messages) {
      if (m.ReceiptHandle) handles.push(m.ReceiptHandle);
      if (!m.MessageId || seen.has(m.MessageId)) continue;
      seen.add(m.MessageId);
      const read = readDlqMessage(m);
      dlq.push({
        messageId: m.MessageId,
        class: read.failure?.class ?? 'UNKNOWN',
        code: read.failure?.code ?? 'NoFailureRecord',
        reason: read.failure?.message ?? read.problem ?? 'no failure record',
        ...(read.failure?.source ? { source: read.failure.source } : {}),
        body: read.body,
      });
    }
  }
  // Put them back: reading must not hide DLQ entries from the redrive or from ops.
  for (const handle of handles) {
    await sandbox.clients.sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: dlqUrl, ReceiptHandle: handle, VisibilityTimeout: 0 }),
    );
  }
  return { messagesSent, tasks, transfers, dlq };
}

export function formatSummary(summary: DemoSummary): string {
  const lines: string[] = [];
  lines.push(`messages in: ${summary.messagesSent}`);
  lines.push(`tasks created: ${summary.tasks.length}`);
  for (const t of summary.tasks) {
    const lifecycle = [t.updated ? 'updated' : '', t.completed ? 'completed' : ''].filter(Boolean).join(', ');
    lines.push(
      `  ✓ ${t.contactId}  ${t.name}${t.transfers ? `  (transferred ${t.transfers}×)` : ''}${lifecycle ? `  (${lifecycle})` : ''}`,
    );
  }
  lines.push(`scheduled transfers: ${summary.transfers.length}`);
  for (const t of summary.transfers) {
    const due = new Date(t.dueAt).toISOString();
    lines.push(`  → ${t.contactId} ${t.planId}: ${t.status} (due ${due})${t.reason ? ` ${t.reason}` : ''}`);
  }
  lines.push(`DLQ entries: ${summary.dlq.length}`);
  for (const d of summary.dlq)
    lines.push(`  ✗ ${d.class} ${d.code}${d.source ? ` [${d.source}]` : ''}: ${d.reason}`);
  return lines.join('\n');
}
