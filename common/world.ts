/**
 * The ids of the sandbox's Connect world (events/sandbox-world.json) that tests and the chaos
 * scenario use, in one place. A caller names what it means (`ESCALATIONS_QUEUE_ID`), not a literal id.
 */

/** The sandbox's one instance, and the stage's `connectInstanceId` in serverless.yml. */
export const INSTANCE_ID = '11111111-2222-3333-4444-555555555555';

/** "Inbound task flow" (CONTACT_FLOW): the target of most rules. */
export const FLOW_ID = 'f1a2b3c4-0000-4000-8000-000000000001';
/** "Transfer to queue" (QUEUE_TRANSFER): the flow of transfer plans. */
export const TRANSFER_FLOW_ID = 'f1a2b3c4-0000-4000-8000-000000000002';
/** "Transfer to agent" (AGENT_TRANSFER). */
export const AGENT_TRANSFER_FLOW_ID = 'f1a2b3c4-0000-4000-8000-000000000003';

/** "BasicQueue". */
export const BASIC_QUEUE_ID = 'a0a0a0a0-0000-4000-8000-000000000001';
/** "Escalations": where transfer plans send tasks. */
export const ESCALATIONS_QUEUE_ID = 'a0a0a0a0-0000-4000-8000-000000000002';

/** "agent.one". */
export const AGENT_ONE_ID = 'b0b0b0b0-0000-4000-8000-000000000001';
/** The quick connect "Escalations queue". */
export const QUICK_CONNECT_ID = 'c0c0c0c0-0000-4000-8000-000000000001';

/** "Delayed order": an ACTIVE task template. */
export const ACTIVE_TEMPLATE_ID = 'd0d0d0d0-0000-4000-8000-000000000001';
/** "Retired returns template": an INACTIVE task template. */
export const INACTIVE_TEMPLATE_ID = 'd0d0d0d0-0000-4000-8000-000000000002';

/** An instance outside the stage's `connectInstanceIds`. */
export const OTHER_INSTANCE_ID = 'aaaaaaaa-bbbb-4ccc-8ddd-000000000009';
