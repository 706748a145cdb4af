import { describe, expect, it } from 'vitest';
import { createEventsEmulator, type EventEnvelope } from '#sandbox/events/emulator.ts';
import { deployResources } from '#sandbox/resources.ts';

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:outcomes-tap';

/** Deploys `resources` (buses and rules only: no SDK client is called) on a fresh EventBridge emulator. */
async function deploy(resources: Record<string, unknown>) {
  const sent: Array<{ arn: string; body: string }> = [];
  const events = createEventsEmulator({ deliver: (arn, body) => sent.push({ arn, body }) });
  const deployed = await deployResources({
    resources,
    sqs: undefined as never,
    dynamodb: undefined as never,
    events,
    region: 'us-east-1',
    accountId: '000000000000',
    stackName: 'svc-local',
  });
  return { deployed, events, sent };
}

const event = (source: string): EventEnvelope => ({
  version: '0',
  id: 'e-1',
  'detail-type': 'task.completed',
  source,
  account: '000000000000',
  time: '2025-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: {},
});

const BUS_AND_RULE = {
  // The rule comes first on purpose: it waits for the bus it names.
  Tap: {
    Type: 'AWS::Events::Rule',
    Properties: {
      EventBusName: { Ref: 'Bus' },
      EventPattern: { source: ['svc'] },
      Targets: [{ Id: 'tap', Arn: QUEUE_ARN }],
    },
  },
  Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'svc-local-outcomes' } },
};

describe('event buses and rules from serverless.yml resources', () => {
  it('creates a bus and a rule on it whatever their order, resolving Ref and Fn::GetAtt as CloudFormation does', async () => {
    // Act
    const { deployed } = await deploy(BUS_AND_RULE);

    // Assess
    expect(deployed.resolve({ Ref: 'Bus' })).toBe('svc-local-outcomes');
    expect(deployed.resolve({ 'Fn::GetAtt': ['Bus', 'Arn'] })).toBe(
      'arn:aws:events:us-east-1:000000000000:event-bus/svc-local-outcomes',
    );
    expect(deployed.resolve({ 'Fn::GetAtt': ['Bus', 'Name'] })).toBe('svc-local-outcomes');
    expect(deployed.resolve({ Ref: 'Tap' })).toBe('svc-local-outcomes|svc-local-Tap');
    expect(deployed.resolve({ 'Fn::GetAtt': ['Tap', 'Arn'] })).toBe(
      'arn:aws:events:us-east-1:000000000000:rule/svc-local-outcomes/svc-local-Tap',
    );
  });

  it('delivers what the rule matches to its SQS target, as the event JSON', async () => {
    // Prepare
    const { events, sent } = await deploy(BUS_AND_RULE);

    // Act
    events.publish('svc-local-outcomes', event('svc'));
    events.publish('svc-local-outcomes', event('other'));

    // Assess
    expect(sent).toEqual([{ arn: QUEUE_ARN, body: JSON.stringify(event('svc')) }]);
  });

  it('skips a DISABLED rule', async () => {
    // Prepare
    const disabled = structuredClone(BUS_AND_RULE);
    Object.assign(disabled.Tap.Properties, { State: 'DISABLED' });
    const { events, sent } = await deploy(disabled);

    // Act
    const kept = events.publish('svc-local-outcomes', event('svc'));

    // Assess
    expect(sent).toEqual([]);
    expect(kept.matchedRules).toEqual([]);
  });

  it('records a delivery that fails on the kept event and still delivers to the other targets', async () => {
    // Prepare
    const events = createEventsEmulator({
      deliver: (arn) => {
        if (arn.endsWith(':gone')) throw new Error('The specified queue does not exist.');
      },
    });
    events.putRule({
      name: 'r',
      eventPattern: { source: ['svc'] },
      targets: [
        { id: 'gone', arn: 'arn:aws:sqs:us-east-1:000000000000:gone' },
        { id: 'ok', arn: QUEUE_ARN },
      ],
    });

    // Act
    const kept = events.publish('default', event('svc'));

    // Assess
    expect(kept.failedDeliveries).toEqual([
      {
        rule: 'r',
        targetId: 'gone',
        targetArn: 'arn:aws:sqs:us-east-1:000000000000:gone',
        error: 'The specified queue does not exist.',
      },
    ]);
  });

  it('keeps at most keepLimit events per bus, counting the evicted ones', () => {
    // Prepare
    const events = createEventsEmulator({ deliver: () => {}, keepLimit: 2 });

    // Act
    for (const source of ['a', 'b', 'c']) events.publish('default', event(source));

    // Assess
    expect(events.kept('default')).toMatchObject({ lastSeq: 3, evicted: 1 });
    expect(events.kept('default').events.map((k) => [k.seq, k.event.source])).toEqual([
      [2, 'b'],
      [3, 'c'],
    ]);
  });

  it.each([
    [
      'a target that is not an SQS queue',
      { Targets: [{ Id: 't', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:f' }] },
      /only to SQS queues/,
    ],
    [
      'a target with an input transformer',
      { Targets: [{ Id: 't', Arn: QUEUE_ARN, InputPath: '$.detail' }] },
      /InputPath/,
    ],
    ['a schedule', { ScheduleExpression: 'rate(1 minute)' }, /schedule/],
    ['an invalid pattern', { EventPattern: { source: 'svc' } }, /"source" must be an object or an array/],
    ['a bus that is not declared', { EventBusName: 'nope' }, /event bus nope does not exist/],
  ])('refuses a rule with %s, naming the resource', async (_what, properties, reason) => {
    // Prepare
    const resources = structuredClone(BUS_AND_RULE);
    Object.assign(resources.Tap.Properties, properties);

    // Act
    const error = await deploy(resources).catch((e: unknown) => e);

    // Assess
    expect((error as Error).message).toMatch(/creating Tap \(AWS::Events::Rule\) failed/);
    expect((error as Error).message).toMatch(reason);
  });
});
