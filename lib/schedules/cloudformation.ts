/**
 * The CloudFormation resources of the declared task schedules (serverless.yml cannot loop over a
 * list, so scripts/task-schedules.cjs calls this while the framework resolves variables):
 *
 * - `TaskScheduleGroup` (AWS::Scheduler::ScheduleGroup): one group per stage, so the stage's
 *   schedules are listed, tagged and removed together;
 * - `TaskSchedulerRole` (AWS::IAM::Role): assumable only by scheduler.amazonaws.com, for this
 *   account's schedules only (aws:SourceAccount), allowed only `sqs:SendMessage` on the ingest
 *   queue (the normal lane). The queue uses SSE-SQS, so no KMS permission is needed;
 * - one AWS::Scheduler::Schedule per declared schedule, targeting the ingest queue with the
 *   CloudEvent of `scheduleInput` (Scheduler fills in the scheduled time).
 *
 * No schedules: no resources at all.
 */
import { scheduleInput, scheduleLogicalId, type TaskSchedule } from '#lib/schedules/declaration.ts';

const SCHEDULE_GROUP_ID = 'TaskScheduleGroup';
const SCHEDULER_ROLE_ID = 'TaskSchedulerRole';
/** The queue every schedule sends to: the ingest queue (normal lane). */
const TARGET_QUEUE_ID = 'IngestQueue';

export interface ScheduleResourcesInput {
  schedules: readonly TaskSchedule[];
  /** The schedule group's name, e.g. `connect-task-ingest-prod-tasks`. */
  groupName: string;
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export function taskScheduleResources(input: ScheduleResourcesInput): {
  Resources: Record<string, unknown>;
} {
  // A value rule, not a type: the stage name goes into the group name, which Scheduler limits to this.
  if (!/^[0-9A-Za-z_.-]{1,64}$/.test(input.groupName)) {
    throw new TypeError(
      `schedule group name "${input.groupName}" must be 1-64 letters, digits, "-", "_" or "."`,
    );
  }
  if (input.schedules.length === 0) return { Resources: {} };
  const resources: Record<string, unknown> = {
    [SCHEDULE_GROUP_ID]: {
      Type: 'AWS::Scheduler::ScheduleGroup',
      Properties: { Name: input.groupName },
    },
    [SCHEDULER_ROLE_ID]: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: `EventBridge Scheduler: task schedules of ${input.groupName} to the ingest queue`,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'scheduler.amazonaws.com' },
              Action: 'sts:AssumeRole',
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'send-to-ingest-queue',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'SendScheduledEvents',
                  Effect: 'Allow',
                  Action: ['sqs:SendMessage'],
                  Resource: [{ 'Fn::GetAtt': [TARGET_QUEUE_ID, 'Arn'] }],
                },
              ],
            },
          },
        ],
      },
    },
  };
  for (const schedule of input.schedules) {
    const properties: Record<string, unknown> = {
      Name: schedule.name,
      GroupName: { Ref: SCHEDULE_GROUP_ID },
      ScheduleExpression: schedule.expression.text,
      ScheduleExpressionTimezone: schedule.timezone,
      State: schedule.state,
      FlexibleTimeWindow:
        schedule.flexibleWindowMinutes === undefined
          ? { Mode: 'OFF' }
          : { Mode: 'FLEXIBLE', MaximumWindowInMinutes: schedule.flexibleWindowMinutes },
      Target: {
        Arn: { 'Fn::GetAtt': [TARGET_QUEUE_ID, 'Arn'] },
        RoleArn: { 'Fn::GetAtt': [SCHEDULER_ROLE_ID, 'Arn'] },
        Input: scheduleInput(schedule),
      },
    };
    if (schedule.description !== undefined) properties.Description = schedule.description;
    if (schedule.startDate !== undefined) properties.StartDate = isoSeconds(schedule.startDate);
    if (schedule.endDate !== undefined) properties.EndDate = isoSeconds(schedule.endDate);
    resources[scheduleLogicalId(schedule.name)] = {
      Type: 'AWS::Scheduler::Schedule',
      Properties: properties,
    };
  }
  return { Resources: resources };
}
