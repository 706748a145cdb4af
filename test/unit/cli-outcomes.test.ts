/**
 * `task-ingest outcomes tail` without a sandbox: the admin route answered by an injected fetch, the
 * follow loop with a fake reader, and the refusal against AWS.
 */
import { describe, expect, it } from 'vitest';
import { type KeptPage, tailOutcomes } from '#cli/commands/outcomes.ts';
import type { Env } from '#cli/context.ts';
import { runCli } from '#test/support/cli.ts';

const ENDPOINT = 'http://127.0.0.1:4566';
const BUS = 'connect-task-ingest-local-outcomes';

function outcomeEvent(seq: number, type: string, id: string, subject: string, about: string) {
  return {
    seq,
    matchedRules: [],
    failedDeliveries: [],
    event: {
      version: '0',
      id: `env-${seq}`,
      'detail-type': type,
      source: 'connect-task-ingest',
      account: '000000000000',
      time: '2026-03-02T10:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: {
        specversion: '1.0',
        id,
        source: 'connect-task-ingest',
        type,
        subject,
        time: `2026-03-02T10:00:0${seq}.000Z`,
        datacontenttype: 'application/json',
        data: { event: { source: 'com.example.crm', id: about } },
      },
    },
  };
}

const PAGE = {
  bus: BUS,
  lastSeq: 3,
  evicted: 0,
  events: [
    outcomeEvent(1, 'task.created', 'o-1', 'c-1', 'e-1'),
    {
      seq: 2,
      matchedRules: [],
      failedDeliveries: [],
      event: {
        ...outcomeEvent(2, 'x', 'x', 'x', 'x').event,
        source: 'com.example.other',
        'detail-type': 'something.else',
        detail: { hello: 'world' },
      },
    },
    outcomeEvent(3, 'task.completed', 'o-3', 'c-1', 'e-1'),
  ],
};

/** Runs the CLI against a fake sandbox whose events route answers `answer`; records the URLs asked. */
async function tail(argv: string[], answer: () => Response, env: Env = { AWS_ENDPOINT_URL: ENDPOINT }) {
  const asked: URL[] = [];
  const fetch = async (url: URL | string | Request) => {
    const parsed = new URL(url instanceof Request ? url.url : url);
    asked.push(parsed);
    return answer();
  };
  const result = await runCli(['outcomes', 'tail', ...argv], {
    env,
    fetch: fetch as typeof globalThis.fetch,
  });
  return { ...result, asked };
}

describe('task-ingest outcomes tail', () => {
  it('prints one line per outcome (time, type, id, subject, the source/id it is about), and other events as such', async () => {
    // Act
    const result = await tail([], () => Response.json(PAGE));

    // Assess
    expect(result.code, result.err).toBe(0);
    expect(result.out.split('\n')).toEqual([
      '#1  2026-03-02T10:00:01.000Z  task.created    o-1  c-1  com.example.crm/e-1',
      '#2  2026-03-02T10:00:00Z  something.else  env-2  (not a task outcome: source com.example.other)',
      '#3  2026-03-02T10:00:03.000Z  task.completed  o-3  c-1  com.example.crm/e-1',
      '',
    ]);
    expect(
      result.asked.map((u) => [u.pathname, u.searchParams.get('bus'), u.searchParams.get('since')]),
    ).toEqual([['/_sandbox/events', BUS, '0']]);
  });

  it('prints each CloudEvent on one line with --json, and only the type asked for with --type', async () => {
    // Act
    const result = await tail(['--json', '--type', 'task.completed', '--since', '0'], () =>
      Response.json(PAGE),
    );

    // Assess
    expect(result.code, result.err).toBe(0);
    const lines = result.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toEqual(PAGE.events[2]?.event.detail);
  });

  it('reads after --since on the bus OUTCOME_BUS_NAME names, and says when nothing is there', async () => {
    // Act
    const result = await tail(
      ['--since', '7'],
      () => Response.json({ bus: 'my-bus', lastSeq: 7, evicted: 0, events: [] }),
      { AWS_ENDPOINT_URL: ENDPOINT, OUTCOME_BUS_NAME: 'my-bus' },
    );

    // Assess
    expect(result.code).toBe(0);
    expect(result.out).toBe('');
    expect(result.err).toBe('no events on my-bus after #7\n');
    expect(result.asked[0]?.search).toBe('?bus=my-bus&since=7');
  });

  it("fails with the sandbox's reason for a bus it does not know (exit 1)", async () => {
    // Act
    const result = await tail([], () =>
      Response.json(
        { __type: 'ResourceNotFoundException', message: `Event bus ${BUS} does not exist.` },
        { status: 400 },
      ),
    );

    // Assess
    expect(result.code).toBe(1);
    expect(result.err).toContain(`GET /_sandbox/events?bus=${BUS}: 400 Event bus ${BUS} does not exist.`);
  });

  it('refuses an answer that is not the kept events of a bus (exit 1), naming the fields', async () => {
    const result = await tail([], () => Response.json({ bus: BUS, events: [{ seq: 'one' }] }));
    expect(result.code).toBe(1);
    expect(result.err).toContain('not the kept events of a bus');
    expect(result.err).toContain('  - lastSeq');
  });

  it('says the sandbox cannot be reached (exit 1)', async () => {
    // Act
    const result = await tail([], () => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
      });
    });

    // Assess
    expect(result.code).toBe(1);
    expect(result.err).toContain(`cannot reach ${ENDPOINT} (connection refused, ECONNREFUSED)`);
  });

  it('refuses against AWS with exit 2: no API reads a bus back; it shows the rule to subscribe a queue with', async () => {
    // Act
    const typed = await runCli(['--stage', 'prod', 'outcomes', 'tail', '--type', 'task.completed'], {
      env: {},
    });
    const noStage = await runCli(['outcomes', 'tail'], { env: {} });

    // Assess
    expect(typed.code).toBe(2);
    expect(typed.out).toBe('');
    expect(typed.err).toContain(
      'EventBridge has no API to read the events of a bus back (connect-task-ingest-prod-outcomes)',
    );
    expect(typed.err).toContain(
      'a rule on the bus connect-task-ingest-prod-outcomes (stack output OutcomeBusName) with the event pattern {"source":["connect-task-ingest"],"detail-type":["task.completed"]}',
    );
    expect(typed.err).toContain(
      `aws events put-rule --event-bus-name connect-task-ingest-prod-outcomes --name outcomes-tail --event-pattern '{"source":["connect-task-ingest"],"detail-type":["task.completed"]}'`,
    );
    expect(noStage.code).toBe(2);
    expect(noStage.err).toContain('connect-task-ingest-<stage>-outcomes');
    expect(noStage.err).toContain('the event pattern {"source":["connect-task-ingest"]} ');
  });

  it('refuses an unknown --type (exit 2)', async () => {
    const result = await tail(['--type', 'task.deleted'], () => Response.json(PAGE));
    expect(result.code).toBe(2);
    expect(result.err).toContain('task.deleted');
    expect(result.asked).toEqual([]);
  });
});

describe('outcomes tail --follow', () => {
  it('polls from the last sequence number read until stopped, printing each event once', async () => {
    // Prepare: the bus gets event 3 after the first poll; nothing more after it.
    const pages: KeptPage[] = [
      { ...PAGE, lastSeq: 2, events: PAGE.events.slice(0, 1) as KeptPage['events'] },
      { ...PAGE, events: PAGE.events.slice(2) as KeptPage['events'] },
      { ...PAGE, events: [] },
    ];
    const asked: number[] = [];
    const out: string[] = [];
    const stop = new AbortController();
    const read = async (since: number) => {
      asked.push(since);
      const page = pages[asked.length - 1] ?? pages[2];
      if (asked.length === 3) stop.abort();
      return page as KeptPage;
    };

    // Act
    const last = await tailOutcomes(
      { read, out: (t) => out.push(t), err: () => undefined },
      { since: 0, follow: true, interval: 1 },
      stop.signal,
    );

    // Assess
    expect(asked).toEqual([0, 2, 3]);
    expect(last).toBe(3);
    expect(out.map((line) => line.split('  ')[2]?.trim())).toEqual(['task.created', 'task.completed']);
  });

  it('notes that older events were dropped when the first one kept is past --since', async () => {
    // Prepare
    const err: string[] = [];

    // Act
    await tailOutcomes(
      {
        read: async () => ({ ...PAGE, evicted: 12, events: PAGE.events.slice(2) as KeptPage['events'] }),
        out: () => undefined,
        err: (t) => err.push(t),
      },
      { since: 0, interval: 1 },
      new AbortController().signal,
    );

    // Assess
    expect(err).toEqual([
      'note: the sandbox keeps a bounded number of events per bus; 12 older ones were dropped\n',
    ]);
  });
});
