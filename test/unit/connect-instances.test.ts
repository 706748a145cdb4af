import { describe, expect, it } from 'vitest';
import { InstanceListError } from '#lib/connect/errors.ts';
import {
  allowedInstanceIdsFromEnv,
  connectIamResources,
  instanceNotAllowed,
  parseInstanceIds,
} from '#lib/connect/instances.ts';

const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';

describe('the stage instance list (connectInstanceIds)', () => {
  it('parses a comma-separated list or a YAML list, trimmed and without duplicates', () => {
    expect(parseInstanceIds(`${A}, ${B} ,${A},`)).toEqual([A, B]);
    expect(parseInstanceIds([A, B])).toEqual([A, B]);
    expect(parseInstanceIds(A)).toEqual([A]);
  });

  it('refuses an empty list and anything that is no instance id', () => {
    expect(() => parseInstanceIds(' , ')).toThrow(InstanceListError);
    expect(() => parseInstanceIds(`${A},arn:aws:connect:x`)).toThrow(
      /"arn:aws:connect:x" is not a Connect instance id/,
    );
    expect(() => parseInstanceIds(42)).toThrow(InstanceListError);
  });

  it('reads CONNECT_INSTANCE_IDS, else CONNECT_INSTANCE_ID, else knows no list', () => {
    expect(allowedInstanceIdsFromEnv({ CONNECT_INSTANCE_IDS: `${A},${B}`, CONNECT_INSTANCE_ID: A })).toEqual([
      A,
      B,
    ]);
    expect(allowedInstanceIdsFromEnv({ CONNECT_INSTANCE_ID: B })).toEqual([B]);
    expect(allowedInstanceIdsFromEnv({ CONNECT_INSTANCE_IDS: ' ' })).toBeUndefined();
    expect(allowedInstanceIdsFromEnv({})).toBeUndefined();
  });

  it('names the instance and the list when an instance is not allowed', () => {
    expect(instanceNotAllowed(A, [A, B])).toBeUndefined();
    expect(instanceNotAllowed(A, undefined)).toBeUndefined();
    expect(instanceNotAllowed('x-1', [A, B])).toBe(
      `instance x-1 is not one of the stage's Connect instances (connectInstanceIds: ${A}, ${B})`,
    );
  });

  it("builds each Connect statement's ARNs for every instance", () => {
    // Act
    const iam = connectIamResources([A, B]);
    const rendered = (kind: string) => iam[kind]?.map((r) => r['Fn::Sub'].replace(/^.*:instance\//, ''));

    // Assess
    expect(iam.contact?.[0]?.['Fn::Sub']).toBe(
      `arn:\${AWS::Partition}:connect:\${AWS::Region}:\${AWS::AccountId}:instance/${A}/contact/*`,
    );
    expect(rendered('contact')).toEqual([`${A}/contact/*`, `${B}/contact/*`]);
    expect(rendered('taskTemplate')).toEqual([`${A}/task-template/*`, `${B}/task-template/*`]);
    expect(rendered('transfer')).toEqual([
      A,
      `${A}/contact/*`,
      `${A}/contact-flow/*`,
      B,
      `${B}/contact/*`,
      `${B}/contact-flow/*`,
    ]);
    expect(rendered('startTask')).toHaveLength(8);
  });
});
