/**
 * Simulated agents for the chaos run: while the faults are on they accept a seeded share of the
 * queued tasks and complete a seeded share of those they accepted, some with after-contact work,
 * through the sandbox's agent routes (`POST /_sandbox/contacts/<id>/accept` and `/complete`), so that
 * CONNECTED_TO_AGENT, DISCONNECTED and COMPLETED events (and task.accepted, task.completed) flow under
 * the faults, racing the complete rules' StopContact and auto-complete.
 *
 * What each task gets is drawn once, when the agents first see it: the draws come from a generator of
 * their own, in the order the tasks are seen.
 */
import type { ContactView } from '#sandbox/connect/emulator.ts';

export interface AgentShares {
  /** Share of the queued tasks an agent accepts. */
  accept: number;
  /** Share of the accepted tasks the agent completes (the others end by a complete rule or expire). */
  complete: number;
  /** Share of the completions with after-contact work. */
  afterWork: number;
  /** After-contact work, whole seconds drawn within these bounds. */
  afterWorkSeconds: { min: number; max: number };
}

export const DEFAULT_AGENT_SHARES: Readonly<AgentShares> = Object.freeze({
  accept: 0.4,
  complete: 0.6,
  afterWork: 0.4,
  afterWorkSeconds: Object.freeze({ min: 10, max: 240 }),
});

interface AgentFigures {
  accepted: number;
  completed: number;
  withAfterWork: number;
  /** The emulator refused the action (400/404: the task ended or changed meanwhile). */
  refused: number;
}

interface Plan {
  accept: boolean;
  complete: boolean;
  afterWorkSeconds?: number;
}

export interface AgentsOptions {
  /** The sandbox's endpoint (the admin routes). */
  endpoint: string;
  /** The emulator's active tasks now. */
  activeTasks: () => ContactView[];
  random: () => number;
  shares?: AgentShares;
  /** Real ms between two rounds of agent work while started. */
  everyMs?: number;
  /** Agent actions in flight at once. */
  concurrency?: number;
}

export interface Agents {
  /** One round: accept the tasks drawn for it, complete the accepted ones drawn for it. */
  tick(): Promise<void>;
  /** Rounds every `everyMs` until `stop()`. */
  start(): void;
  /** Stops the rounds and waits for the one in flight. */
  stop(): Promise<void>;
  figures: AgentFigures;
}

export function createAgents(options: AgentsOptions): Agents {
  const shares = options.shares ?? DEFAULT_AGENT_SHARES;
  const { random } = options;
  const plans = new Map<string, Plan>();
  const figures: AgentFigures = { accepted: 0, completed: 0, withAfterWork: 0, refused: 0 };
  const draw = (): Plan => {
    const accept = random() < shares.accept;
    const complete = random() < shares.complete;
    const { min, max } = shares.afterWorkSeconds;
    const afterWork = random() < shares.afterWork;
    const seconds = min + Math.floor(random() * (max - min + 1));
    return { accept, complete, ...(afterWork ? { afterWorkSeconds: seconds } : {}) };
  };

  async function act(contactId: string, action: 'accept' | 'complete', body: object): Promise<boolean> {
    const res = await fetch(`${options.endpoint}/_sandbox/contacts/${contactId}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
    if (res.ok) return true;
    if (res.status === 400 || res.status === 404) {
      figures.refused += 1;
      return false;
    }
    throw new Error(`the sandbox answered ${res.status} to an agent's ${action} of ${contactId}`);
  }

  /** The actions this round takes, from the tasks as the emulator shows them now. */
  function actions(): Array<() => Promise<void>> {
    const todo: Array<() => Promise<void>> = [];
    for (const task of options.activeTasks()) {
      let plan = plans.get(task.ContactId);
      if (plan === undefined) {
        plan = draw();
        plans.set(task.ContactId, plan);
      }
      const { afterWorkSeconds } = plan;
      if (
        plan.accept &&
        task.EnqueueTimestamp !== undefined &&
        task.ConnectedToAgentTimestamp === undefined
      ) {
        todo.push(async () => {
          if (await act(task.ContactId, 'accept', {})) figures.accepted += 1;
        });
      } else if (plan.complete && task.ConnectedToAgentTimestamp !== undefined) {
        plan.complete = false;
        todo.push(async () => {
          const body = afterWorkSeconds === undefined ? {} : { afterContactWorkSeconds: afterWorkSeconds };
          if (!(await act(task.ContactId, 'complete', body))) return;
          figures.completed += 1;
          if (afterWorkSeconds !== undefined) figures.withAfterWork += 1;
        });
      }
    }
    return todo;
  }

  async function tick(): Promise<void> {
    const todo = actions();
    const workers = Array.from({ length: options.concurrency ?? 4 }, async () => {
      for (let next = todo.shift(); next !== undefined; next = todo.shift()) await next();
    });
    await Promise.all(workers);
  }

  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  let failure: unknown;
  const round = () => {
    current = tick()
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => {
        if (timer !== undefined) timer = setTimeout(round, options.everyMs ?? 500);
      });
  };
  return {
    tick,
    start() {
      timer = setTimeout(round, options.everyMs ?? 500);
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await current;
      if (failure !== undefined) throw failure;
    },
    figures,
  };
}
