/**
 * Priority lanes. Every event travels in one lane: `urgent`, `normal` (the default) or `bulk`. SQS's
 * own way is one queue per lane, each with its own event source; the StartTaskContact budget
 * (lib/budget/) serves waiting lanes in this order, with a small floor so a lower lane is never
 * starved.
 */
export const LANES = ['urgent', 'normal', 'bulk'] as const;

export type Lane = (typeof LANES)[number];

export const DEFAULT_LANE: Lane = 'normal';

/** 0 for the most urgent lane. */
export function lanePriority(lane: Lane): number {
  return LANES.indexOf(lane);
}

/**
 * The lane queues' names: the normal lane is the ingest queue itself (`<service>-<stage>-ingest`),
 * the others add the lane (`…-ingest-urgent`, `…-ingest-bulk`), as serverless.yml names them.
 */
export function laneQueueName(ingestQueueName: string, lane: Lane): string {
  return lane === DEFAULT_LANE ? ingestQueueName : `${ingestQueueName}-${lane}`;
}

/**
 * The lane of a queue, from its name: `…-urgent` and `…-bulk` are those lanes, any other name
 * (the ingest queue, a queue of a test) is the normal lane.
 */
export function laneOfQueueName(queueName: string): Lane {
  for (const lane of LANES) {
    if (lane !== DEFAULT_LANE && queueName.endsWith(`-${lane}`)) return lane;
  }
  return DEFAULT_LANE;
}

/** The queue name of an SQS ARN (`arn:aws:sqs:<region>:<account>:<name>`) or URL (`…/<account>/<name>`). */
export function queueNameOf(arnOrUrl: string): string {
  const cut = Math.max(arnOrUrl.lastIndexOf(':'), arnOrUrl.lastIndexOf('/'));
  return arnOrUrl.slice(cut + 1);
}

/** The lane of a queue given by ARN or URL; undefined or empty: the default lane. */
export function laneOfQueue(arnOrUrl: string | undefined): Lane {
  return arnOrUrl ? laneOfQueueName(queueNameOf(arnOrUrl)) : DEFAULT_LANE;
}

/** One queue URL per lane: the normal lane's is the ingest queue. */
export type LaneQueueUrls = Readonly<Record<Lane, string>>;
