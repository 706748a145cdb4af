/**
 * `task-ingest send <file|-> [--source S] [--type T] [--id ID] [--attr k=v ...] [--lane L]`: publish
 * one upstream message to the ingest queue (or, with `--lane urgent|normal|bulk`, to that lane's
 * queue), the way an upstream system would, and print its MessageId.
 *
 * The body is sent byte-for-byte. `--source`, `--type` and `--id` become the `source`, `type` and
 * `id` message attributes that plain JSON messages need (CloudEvents, EventBridge and SNS shapes
 * carry them in the body). Before sending, the message is normalised exactly as the ingest handler
 * will normalise it, so a message that could only end in the DLQ (not JSON, no source) is refused
 * here with the reason (`--no-check` sends it anyway, e.g. to exercise the DLQ). `--sample` reads
 * a sample message of `events/messages/` (`{body, messageAttributes}`).
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { type Command, Option } from 'commander';
import type { CliContext } from '#cli/context.ts';
import { CliUsageError, CliUserError, describeError } from '#cli/errors.ts';
import { readMessage, toJson } from '#cli/io.ts';
import { collectAttr } from '#cli/options.ts';
import {
  type LambdaMessageAttributes,
  parseEnvelope,
  SERVICE_ATTRIBUTE_PREFIX,
} from '#lib/envelope/parse.ts';
import { DEFAULT_LANE, LANES, type Lane } from '#lib/lanes.ts';
import { MAX_MESSAGE_ATTRIBUTES } from '#lib/retry/failure-record.ts';

interface SendOptions {
  source?: string;
  type?: string;
  id?: string;
  attr?: Record<string, string>;
  sample?: boolean;
  check: boolean;
  json?: boolean;
  lane: Lane;
}

export function register(send: Command, ctx: CliContext): void {
  send
    .argument('<file>', 'message body file, or - for standard input (sent byte-for-byte)')
    .option('--source <source>', 'the `source` message attribute (plain JSON messages need it)')
    .option('--type <type>', 'the `type` message attribute')
    .option(
      '--id <id>',
      'the `id` message attribute: the event id (default for plain JSON: the SQS message id)',
    )
    .option('--attr <key=value>', 'another String message attribute (repeatable)', collectAttr)
    .option('--sample', 'the file is a sample message {body, messageAttributes} (events/messages/*.json)')
    .option('--no-check', 'send even if the ingest handler could not normalise the message')
    .addOption(
      new Option('--lane <lane>', "the priority lane's queue to publish to (normal: the ingest queue)")
        .choices(LANES)
        .default(DEFAULT_LANE),
    )
    .option('--json', 'print {MessageId} as JSON')
    .action(async (file: string, options: SendOptions) => {
      const message = await readMessage(ctx.io, file, options.sample === true);
      const body = message.body;
      const attributes = messageAttributes(options, message.attributes);
      if (options.check) checkNormalisable(body, attributes, file);
      const queueUrl = await ctx.laneQueueUrl(options.lane);
      const { MessageId } = await (await ctx.sqs()).send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body,
          ...(Object.keys(attributes).length === 0 ? {} : { MessageAttributes: attributes }),
        }),
      );
      if (MessageId === undefined) throw new CliUserError('SendMessage returned no MessageId');
      ctx.io.stdout(options.json ? `${toJson({ MessageId })}\n` : `${MessageId}\n`);
    });
}

/**
 * The message attributes: `base` (a sample's), then --source/--type/--id, then --attr. Refuses the
 * service's reserved names, --attr repeating --source/--type/--id, and more than SQS allows.
 */
export function messageAttributes(
  options: Pick<SendOptions, 'source' | 'type' | 'id' | 'attr'>,
  base: Record<string, string> = {},
): Record<string, MessageAttributeValue> {
  const named: Record<string, string | undefined> = {
    source: options.source,
    type: options.type,
    id: options.id,
  };
  const values: Record<string, string> = { ...base };
  for (const [name, value] of Object.entries(named)) {
    if (value !== undefined) values[name] = value;
  }
  for (const [name, value] of Object.entries(options.attr ?? {})) {
    if (named[name] !== undefined) throw new CliUsageError(`--attr ${name} repeats --${name}`);
    values[name] = value;
  }
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(values)) {
    if (name.startsWith(SERVICE_ATTRIBUTE_PREFIX)) {
      throw new CliUsageError(
        `attribute ${name}: names starting with "${SERVICE_ATTRIBUTE_PREFIX}" belong to the service`,
      );
    }
    attributes[name] = { DataType: 'String', StringValue: value };
  }
  const count = Object.keys(attributes).length;
  if (count > MAX_MESSAGE_ATTRIBUTES) {
    throw new CliUsageError(`${count} message attributes; SQS allows at most ${MAX_MESSAGE_ATTRIBUTES}`);
  }
  return attributes;
}

function checkNormalisable(
  body: string,
  attributes: Record<string, MessageAttributeValue>,
  file: string,
): void {
  const lambdaShape: LambdaMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    lambdaShape[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  try {
    // The real message id is only known after sending; any id stands in for the check.
    parseEnvelope({ body, messageId: 'send-check', attributes: lambdaShape });
  } catch (error) {
    throw new CliUserError(
      `${file === '-' ? 'the message' : file} would be parked in the DLQ: ${describeError(error)} (--no-check sends it anyway)`,
      [],
      { cause: error },
    );
  }
}
