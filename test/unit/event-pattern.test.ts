import { describe, expect, it } from 'vitest';
import { EventPatternError } from '#sandbox/events/errors.ts';
import { compileEventPattern, parseEventPattern } from '#sandbox/events/pattern.ts';

/** A contact event as EventBridge delivers it, with `detail` overridable. */
function event(detail: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    version: '0',
    id: '6f0c1e2a-0000-4000-8000-000000000001',
    'detail-type': 'Amazon Connect Contact Event',
    source: 'aws.connect',
    account: '000000000000',
    time: '2025-01-02T03:04:05Z',
    region: 'us-east-1',
    resources: ['arn:aws:connect:us-east-1:000000000000:instance/i-1/contact/c-1'],
    detail: {
      eventType: 'QUEUED',
      channel: 'TASK',
      instanceArn: 'arn:aws:connect:us-east-1:000000000000:instance/i-1',
      queueInfo: { queueType: 'STANDARD', queueArn: 'arn:q-1' },
      ...detail,
    },
    ...extra,
  };
}

type Case = [name: string, pattern: Record<string, unknown>, matching: object, notMatching: object];

const CASES: Case[] = [
  [
    'exact values, an array ORs them',
    { source: ['aws.connect'], detail: { eventType: ['INITIATED', 'QUEUED'] } },
    event(),
    event({ eventType: 'COMPLETED' }),
  ],
  [
    'nested objects',
    { detail: { queueInfo: { queueType: ['STANDARD'] } } },
    event(),
    event({ queueInfo: { queueType: 'AGENT' } }),
  ],
  [
    'the serverless.yml contact events rule: channel and instance',
    {
      source: ['aws.connect'],
      'detail-type': ['Amazon Connect Contact Event'],
      detail: { channel: ['TASK'], instanceArn: ['arn:aws:connect:us-east-1:000000000000:instance/i-1'] },
    },
    event(),
    event({ instanceArn: 'arn:aws:connect:us-east-1:000000000000:instance/i-2' }),
  ],
  [
    'the same rule refuses another channel',
    { detail: { channel: ['TASK'] } },
    event(),
    event({ channel: 'VOICE' }),
  ],
  ['numbers match by value, not as strings', { detail: { n: [5] } }, event({ n: 5.0 }), event({ n: '5' })],
  [
    'null and booleans match exactly',
    { detail: { a: [null], b: [false] } },
    event({ a: null, b: false }),
    event({ a: 'null', b: false }),
  ],
  [
    'an event array matches when any element does',
    { resources: ['arn:r-2'] },
    event({}, { resources: ['arn:r-1', 'arn:r-2'] }),
    event({}, { resources: ['arn:r-1'] }),
  ],
  [
    'prefix',
    { detail: { eventType: [{ prefix: 'CONN' }] } },
    event({ eventType: 'CONNECTED_TO_AGENT' }),
    event({ eventType: 'DISCONNECTED' }),
  ],
  [
    'prefix with equals-ignore-case',
    { detail: { eventType: [{ prefix: { 'equals-ignore-case': 'conn' } }] } },
    event({ eventType: 'CONNECTED_TO_AGENT' }),
    event({ eventType: 'QUEUED' }),
  ],
  [
    'suffix',
    { detail: { queueInfo: { queueArn: [{ suffix: '-1' }] } } },
    event(),
    event({ queueInfo: { queueArn: 'arn:q-2' } }),
  ],
  [
    'suffix with equals-ignore-case',
    { detail: { s: [{ suffix: { 'equals-ignore-case': '.PNG' } }] } },
    event({ s: 'a.png' }),
    event({ s: 'a.jpg' }),
  ],
  [
    'equals-ignore-case',
    { detail: { channel: [{ 'equals-ignore-case': 'task' }] } },
    event(),
    event({ channel: 'VOICE' }),
  ],
  [
    'wildcard',
    { detail: { instanceArn: [{ wildcard: 'arn:aws:connect:*:instance/i-*' }] } },
    event(),
    event({ instanceArn: 'arn:aws:sqs:x' }),
  ],
  [
    'wildcard with an escaped star',
    { detail: { s: [{ wildcard: 'a\\*b*' }] } },
    event({ s: 'a*bc' }),
    event({ s: 'axbc' }),
  ],
  [
    'wildcard is anchored and escapes regex characters',
    { detail: { s: [{ wildcard: 'a.c' }] } },
    event({ s: 'a.c' }),
    event({ s: 'abc' }),
  ],
  [
    'anything-but a value',
    { detail: { eventType: [{ 'anything-but': 'COMPLETED' }] } },
    event(),
    event({ eventType: 'COMPLETED' }),
  ],
  [
    'anything-but a list',
    { detail: { eventType: [{ 'anything-but': ['COMPLETED', 'QUEUED'] }] } },
    event({ eventType: 'INITIATED' }),
    event(),
  ],
  ['anything-but numbers', { detail: { n: [{ 'anything-but': [1, 2] }] } }, event({ n: 3 }), event({ n: 2 })],
  ['anything-but needs the field', { detail: { x: [{ 'anything-but': 'a' }] } }, event({ x: 'b' }), event()],
  [
    'anything-but never matches null',
    { detail: { x: [{ 'anything-but': 'a' }] } },
    event({ x: 'b' }),
    event({ x: null }),
  ],
  [
    'anything-but prefix',
    { detail: { eventType: [{ 'anything-but': { prefix: 'CONN' } }] } },
    event(),
    event({ eventType: 'CONNECTED_TO_AGENT' }),
  ],
  [
    'anything-but suffix',
    { detail: { s: [{ 'anything-but': { suffix: '.tmp' } }] } },
    event({ s: 'a.txt' }),
    event({ s: 'a.tmp' }),
  ],
  [
    'anything-but equals-ignore-case',
    { detail: { channel: [{ 'anything-but': { 'equals-ignore-case': ['voice', 'chat'] } }] } },
    event(),
    event({ channel: 'Voice' }),
  ],
  [
    'anything-but wildcard',
    { detail: { s: [{ 'anything-but': { wildcard: 'tmp/*' } }] } },
    event({ s: 'data/x' }),
    event({ s: 'tmp/x' }),
  ],
  [
    'exists true',
    { detail: { queueInfo: { queueArn: [{ exists: true }] } } },
    event(),
    event({ queueInfo: {} }),
  ],
  [
    'exists false',
    { detail: { agentInfo: { agentArn: [{ exists: false }] } } },
    event(),
    event({ agentInfo: { agentArn: 'arn:a' } }),
  ],
  [
    'exists true matches null, a present leaf',
    { detail: { x: [{ exists: true }] } },
    event({ x: null }),
    event(),
  ],
  [
    'exists false on a nested field whose parent is missing',
    { detail: { agentInfo: { agentArn: [{ exists: false }] } } },
    event({ agentInfo: undefined }),
    event({ agentInfo: [{ agentArn: 'a' }] }),
  ],
  ['numeric comparison', { detail: { n: [{ numeric: ['>', 10] }] } }, event({ n: 11 }), event({ n: 10 })],
  ['numeric equality', { detail: { n: [{ numeric: ['=', 3.5] }] } }, event({ n: 3.5 }), event({ n: 3.6 })],
  ['numeric range', { detail: { n: [{ numeric: ['>=', 0, '<', 5] }] } }, event({ n: 0 }), event({ n: 5 })],
  [
    'numeric matches numbers only',
    { detail: { n: [{ numeric: ['<', 100] }] } },
    event({ n: 1 }),
    event({ n: '1' }),
  ],
  [
    'operators OR with values in one array',
    { detail: { eventType: ['COMPLETED', { prefix: 'QUE' }] } },
    event(),
    event({ eventType: 'INITIATED' }),
  ],
  [
    'nested patterns match within one array element (array consistency)',
    { detail: { items: { kind: ['a'], size: [1] } } },
    event({
      items: [
        { kind: 'b', size: 1 },
        { kind: 'a', size: 1 },
      ],
    }),
    event({
      items: [
        { kind: 'a', size: 2 },
        { kind: 'b', size: 1 },
      ],
    }),
  ],
  [
    '$or of sub-patterns',
    {
      detail: {
        $or: [{ eventType: ['COMPLETED'] }, { channel: ['TASK'], queueInfo: { queueType: ['STANDARD'] } }],
      },
    },
    event(),
    event({ channel: 'VOICE' }),
  ],
];

describe('EventBridge event patterns', () => {
  it.each(CASES)('%s', (_name, pattern, matching, notMatching) => {
    // Prepare
    const matches = compileEventPattern(pattern);

    // Act
    const results = [matches(matching), matches(notMatching)];

    // Assess
    expect(results).toEqual([true, false]);
  });

  it('needs every field of the pattern to match (fields are ANDed)', () => {
    // Prepare
    const matches = compileEventPattern({ source: ['aws.connect'], detail: { eventType: ['QUEUED'] } });

    // Act
    const otherSource = matches(event({}, { source: 'com.example' }));

    // Assess
    expect(otherSource).toBe(false);
  });

  it('parses a pattern given as JSON text', () => {
    // Prepare
    const text = JSON.stringify({ detail: { channel: ['TASK'] } });

    // Act
    const matches = parseEventPattern(text);

    // Assess
    expect(matches(event())).toBe(true);
  });

  const INVALID: Array<[pattern: unknown, reason: RegExp]> = [
    [[], /must be a JSON object/],
    [{}, /empty/],
    [{ source: 'aws.connect' }, /"source" must be an object or an array/],
    [{ source: [] }, /"source" is an empty array/],
    [{ detail: {} }, /"detail" is an empty object/],
    [{ detail: { x: [{ prefix: 1 }] } }, /"detail.x" uses "prefix" with a value that is not a string/],
    [{ detail: { x: [{ prefix: 'a', suffix: 'b' }] } }, /more than one key/],
    [{ detail: { x: [{ exists: 'yes' }] } }, /"exists"/],
    [{ detail: { x: [{ numeric: ['>', 'a'] }] } }, /"numeric"/],
    [{ detail: { x: [{ numeric: ['<', 5, '>', 1] }] } }, /"numeric"/],
    [{ detail: { x: [{ numeric: ['>', 5, '<', 1] }] } }, /"numeric"/],
    [{ detail: { x: [{ wildcard: 'a**' }] } }, /consecutive/],
    [{ detail: { x: [{ wildcard: 'a\\b' }] } }, /invalid escape/],
    [{ detail: { x: [{ 'anything-but': [] }] } }, /anything-but/],
    [{ detail: { x: [{ 'anything-but': { exists: true } }] } }, /does not support/],
    [{ detail: { x: [{ cidr: '10.0.0.0/24' }] } }, /cidr/],
    [{ detail: { x: [{ nope: 1 }] } }, /unknown operator "nope"/],
    [{ detail: { x: [[1]] } }, /operator objects/],
    [{ $or: [{ source: ['a'] }] }, /at least two/],
  ];

  it.each(INVALID)('refuses the invalid pattern %j with the reason', (pattern, reason) => {
    // Prepare
    const compile = () => compileEventPattern(pattern);

    // Act
    const error = (() => {
      try {
        compile();
        return undefined;
      } catch (caught) {
        return caught;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(EventPatternError);
    expect((error as Error).message).toMatch(reason);
  });

  it('refuses a pattern that is not JSON', () => {
    // Prepare
    const text = '{source: [';

    // Act
    const parse = () => parseEventPattern(text);

    // Assess
    expect(parse).toThrow(/not valid JSON/);
  });
});
