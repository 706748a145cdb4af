import { describe, expect, it } from 'vitest';
import { eventPlanId, occurrenceId, transferRequestId } from '#lib/idempotency/ids.ts';
import { chainCounterKey, contactIndexKey, transferClientToken } from '#lib/idempotency/token.ts';

// Each expected value was computed with the derivation as it stood before it moved to lib/idempotency:
// a changed value would let a replayed event schedule a second transfer or miss its recorded task.
describe('deterministic ids are pinned', () => {
  it('eventPlanId: evt- + 32 hex of the request content', () => {
    expect(
      eventPlanId({ instanceId: 'inst-1', contactId: 'c-1', queueId: 'q-1', contactFlowId: 'f-1' }),
    ).toBe('evt-a00c69cf696680879ce7d9eebb1d147c');
    expect(
      eventPlanId({
        instanceId: 'inst-1',
        contactId: 'c-1',
        userId: 'u-1',
        contactFlowId: 'f-1',
        at: 1767225600000,
        requestId: 'r-1',
      }),
    ).toBe('evt-29a4a3d56ecc619cd9d05c37f9214035');
  });

  it('transferRequestId: 32 hex of source NUL event id', () => {
    expect(transferRequestId('com.example.crm', 'evt-42')).toBe('10dad3d8b0b892523bb8e5fca37c13f8');
  });

  it('ledger keys: chain counter and contact index, parts URI-encoded', () => {
    expect(chainCounterKey('inst#1', 'prev/2')).toBe('chain#inst%231#prev%2F2');
    expect(contactIndexKey('inst-1', 'c#1')).toBe('contact#inst-1#c%231');
    expect(() => contactIndexKey('inst-1', '')).toThrow(/contactId must be a non-empty string/);
    expect(() => chainCounterKey('', 'p')).toThrow(/instanceId must be a non-empty string/);
  });

  it('transferClientToken', () => {
    expect(transferClientToken('c-1', 'evt-x')).toBe(
      'cti1-xfer-f9c1caea2e30b9b00759cbf7d846f95e8930967ec2ba1f7d0bebba13edacde53',
    );
  });

  it('occurrenceId: <name>@<scheduled time>', () => {
    expect(occurrenceId('nightly-report', '2026-01-01T00:00:00Z')).toBe(
      'nightly-report@2026-01-01T00:00:00Z',
    );
  });
});
