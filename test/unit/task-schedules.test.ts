/**
 * custom.taskSchedules: validation (all errors at once), the message each occurrence sends, the
 * generated EventBridge Scheduler resources, and serverless.yml read by the sandbox refusing a bad
 * schedule the way the deploy does (the same scripts/task-schedules.cjs).
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseServerlessConfig } from '#common/serverless-config.ts';
import { parseEnvelope } from '#lib/envelope/parse.ts';
import { taskScheduleResources } from '#lib/schedules/cloudformation.ts';
import { parseTaskSchedules, renderOccurrence, scheduleInput } from '#lib/schedules/declaration.ts';
import { TaskScheduleError } from '#lib/schedules/errors.ts';

const valid = {
  name: 'weekday-escalations',
  expression: 'cron(0 9 ? * MON-FRI *)',
  timezone: 'Europe/Berlin',
  flexibleWindowMinutes: 15,
  event: { source: 'com.example.calendar', type: 'task-due', data: { title: 'Check' } },
};

describe('parseTaskSchedules', () => {
  it('accepts a valid list and applies the defaults (UTC, ENABLED)', () => {
    const [s] = parseTaskSchedules([
      { name: 'x', expression: 'rate(5 minutes)', event: { source: 's', type: 't' } },
    ]);
    expect(s?.timezone).toBe('UTC');
    expect(s?.state).toBe('ENABLED');
    expect(parseTaskSchedules(undefined)).toEqual([]);
  });

  it('refuses every bad entry with one error per problem', () => {
    // Act
    let error: TaskScheduleError | undefined;
    try {
      parseTaskSchedules([
        valid,
        { ...valid, expression: 'cron(0 9 * * MON-FRI *)' },
        { ...valid, name: 'b', timezone: 'Mars/Olympus', flexibleWindowMinutes: 0 },
        { ...valid, name: 'c', startDate: '2027-01-01', endDate: '2026-01-01T00:00:00Z' },
        { ...valid, name: 'd', expression: 'at(2027-01-04T08:00:00)', startDate: '2027-01-01T00:00:00Z' },
        { ...valid, name: 'e', event: { source: '', data: 1, extra: true } },
        { ...valid, name: 'f g', state: 'PAUSED', every: 'day' },
      ]);
    } catch (caught) {
      error = caught as TaskScheduleError;
    }

    // Assess
    expect(error).toBeInstanceOf(TaskScheduleError);
    const text = error?.errors.join('\n') ?? '';
    expect(text).toMatch(
      /\[1\] \(weekday-escalations\)\.expression: .*exactly one of day-of-month and day-of-week/,
    );
    expect(text).toMatch(/\[2\] \(b\)\.timezone: "Mars\/Olympus" is not an IANA time zone/);
    expect(text).toMatch(/\[2\] \(b\)\.flexibleWindowMinutes: must be an integer 1-1440/);
    expect(text).toMatch(/\[3\] \(c\)\.startDate: must be an ISO-8601 date-time with a zone/);
    expect(text).toMatch(/\[4\] \(d\): startDate and endDate apply to cron\(\) and rate\(\) schedules/);
    expect(text).toMatch(/\[5\] \(e\)\.event\.extra: unknown field/);
    expect(text).toMatch(/\[5\] \(e\)\.event\.source: must be a non-empty string/);
    expect(text).toMatch(/\[5\] \(e\)\.event\.type: must be a non-empty string/);
    expect(text).toMatch(/\[6\]\.every: unknown field/);
    expect(text).toMatch(/\[6\]\.name: must be 1-64 letters/);
    expect(text).toMatch(/\[6\] \(f g\)\.state: must be ENABLED or DISABLED/);
  });

  it('refuses a name declared twice and names that make the same resource id', () => {
    expect(() => parseTaskSchedules([valid, valid])).toThrow(/"weekday-escalations" is declared twice/);
    expect(() => parseTaskSchedules([valid, { ...valid, name: 'weekday_escalations' }])).toThrow(
      /make the same resource id TaskScheduleWeekdayEscalations/,
    );
  });
});

describe('the message of an occurrence', () => {
  it('is a CloudEvent whose id and time carry the scheduled time, and nothing else varies', () => {
    // Prepare
    const [s] = parseTaskSchedules([valid]);
    if (!s) throw new Error('no schedule');

    // Act
    const template = scheduleInput(s);
    const env = parseEnvelope({
      body: renderOccurrence(s, Date.parse('2027-03-29T07:00:00.123Z')),
      messageId: 'm',
      attributes: {},
    });

    // Assess
    expect(template).toContain('"id":"weekday-escalations@<aws.scheduler.scheduled-time>"');
    expect(template).toContain('"time":"<aws.scheduler.scheduled-time>"');
    expect(env).toMatchObject({
      kind: 'cloudevents',
      source: 'com.example.calendar',
      type: 'task-due',
      id: 'weekday-escalations@2027-03-29T07:00:00Z',
      time: '2027-03-29T07:00:00Z',
      data: { title: 'Check' },
    });
  });
});

describe('taskScheduleResources', () => {
  it('makes a group, a Scheduler-only role that may only send to the ingest queue, and one schedule each', () => {
    // Act
    const { Resources } = taskScheduleResources({
      schedules: parseTaskSchedules([
        valid,
        {
          name: 'once',
          expression: 'at(2027-01-04T08:00:00)',
          timezone: 'Europe/Berlin',
          state: 'DISABLED',
          event: { source: 's', type: 't' },
        },
      ]),
      groupName: 'connect-task-ingest-dev-tasks',
    });

    // Assess
    expect(Object.keys(Resources).sort()).toEqual(
      ['TaskScheduleGroup', 'TaskSchedulerRole', 'TaskScheduleOnce', 'TaskScheduleWeekdayEscalations'].sort(),
    );
    expect(Resources.TaskScheduleWeekdayEscalations).toMatchObject({
      Type: 'AWS::Scheduler::Schedule',
      Properties: {
        Name: 'weekday-escalations',
        GroupName: { Ref: 'TaskScheduleGroup' },
        ScheduleExpression: 'cron(0 9 ? * MON-FRI *)',
        ScheduleExpressionTimezone: 'Europe/Berlin',
        State: 'ENABLED',
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
        Target: {
          Arn: { 'Fn::GetAtt': ['IngestQueue', 'Arn'] },
          RoleArn: { 'Fn::GetAtt': ['TaskSchedulerRole', 'Arn'] },
        },
      },
    });
    expect(Resources.TaskScheduleOnce).toMatchObject({
      Properties: { State: 'DISABLED', FlexibleTimeWindow: { Mode: 'OFF' } },
    });
    expect(taskScheduleResources({ schedules: [], groupName: 'g' })).toEqual({ Resources: {} });
  });
});

describe('serverless.yml with task schedules, read by the sandbox', () => {
  const yaml = (schedules: string) =>
    [
      'service: svc',
      'provider:',
      '  name: aws',
      'custom:',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a serverless.yml variable, not a template
      '  taskScheduleGroupName: svc-${sls:stage}-tasks',
      '  taskSchedules:',
      schedules,
      'resources:',
      '- Resources:',
      '    IngestQueue:',
      '      Type: AWS::SQS::Queue',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a serverless.yml variable, not a template
      '- ${file(./scripts/task-schedules.cjs):resources}',
    ].join('\n');
  // The service directory is the repository, where scripts/task-schedules.cjs lives.
  const path = resolve(import.meta.dirname, '../../serverless.test.yml');

  it('merges the generated resources into the declared ones', () => {
    const config = parseServerlessConfig(
      yaml(
        '    - {name: daily, expression: "cron(0 8 * * ? *)", timezone: UTC, event: {source: s, type: t}}',
      ),
      { path, stage: 'qa' },
    );
    expect(Object.keys(config.resources.Resources).sort()).toEqual(
      ['IngestQueue', 'TaskScheduleDaily', 'TaskScheduleGroup', 'TaskSchedulerRole'].sort(),
    );
    expect(config.resources.Resources.TaskScheduleGroup).toEqual({
      Type: 'AWS::Scheduler::ScheduleGroup',
      Properties: { Name: 'svc-qa-tasks' },
    });
  });

  it('refuses a bad schedule with the validation error, naming the variable', () => {
    expect(() =>
      parseServerlessConfig(
        yaml(
          '    - {name: daily, expression: "cron(0 8 * * * *)", timezone: Europe/Nowhere, event: {source: s, type: t}}',
        ),
        { path, stage: 'qa' },
      ),
    ).toThrow(
      /task-schedules\.cjs.*[\s\S]*exactly one of day-of-month and day-of-week[\s\S]*"Europe\/Nowhere" is not an IANA time zone/,
    );
  });
});
