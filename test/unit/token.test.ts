import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenDerivationError } from '#lib/idempotency/errors.ts';
import { TOKEN_VERSION_PREFIX, taskClientToken, transferClientToken } from '#lib/idempotency/token.ts';

const part = fc.string({ unit: 'binary', minLength: 1, maxLength: 300 });

describe('taskClientToken', () => {
  it('is pinned: the same logical event keeps the same token across releases', () => {
    // A changed derivation would let redelivered events create second tasks; change the prefix instead.
    expect(
      taskClientToken('11111111-2222-3333-4444-555555555555', 'com.example.crm', 'case-1001-opened'),
    ).toBe('cti1-task-9c60900747fe2192aa428ccecff55e4e989d3a66d53c76b384da05060b5b6c88');
  });

  it('is deterministic, versioned and within the 500-character ClientToken limit', () => {
    fc.assert(
      fc.property(part, part, part, (instanceId, source, key) => {
        // Act
        const token = taskClientToken(instanceId, source, key);

        // Assess
        expect(token).toBe(taskClientToken(instanceId, source, key));
        expect(token.startsWith(TOKEN_VERSION_PREFIX)).toBe(true);
        expect(token.length).toBeLessThanOrEqual(500);
        expect(token).toMatch(/^cti1-task-[0-9a-f]{64}$/);
      }),
      { numRuns: 200 },
    );
  });

  it('gives distinct tokens to distinct inputs', () => {
    fc.assert(
      fc.property(fc.tuple(part, part, part), fc.tuple(part, part, part), (a, b) => {
        fc.pre(a.some((p, i) => p !== b[i]));
        expect(taskClientToken(...a)).not.toBe(taskClientToken(...b));
      }),
      { numRuns: 300 },
    );
  });

  it('cannot be fooled by moving characters across part boundaries', () => {
    fc.assert(
      fc.property(part, part, part, fc.nat(), (x, y, z, n) => {
        // Prepare: the same concatenation, split differently.
        const joined = x + y;
        const cut = 1 + (n % Math.max(1, joined.length - 1));
        fc.pre(cut !== x.length && cut < joined.length);

        // Act / Assess
        expect(taskClientToken(joined.slice(0, cut), joined.slice(cut), z)).not.toBe(
          taskClientToken(x, y, z),
        );
      }),
      { numRuns: 200 },
    );
    expect(taskClientToken('a', 'bc', 'k')).not.toBe(taskClientToken('ab', 'c', 'k'));
    expect(taskClientToken('a', 'b|c', 'k')).not.toBe(taskClientToken('a|b', 'c', 'k'));
    expect(taskClientToken('a', '","b', 'k')).not.toBe(taskClientToken('a","', 'b', 'k'));
  });

  it('refuses empty parts, which would let distinct effects share a token', () => {
    expect(() => taskClientToken('inst', '', 'k')).toThrow(TokenDerivationError);
    expect(() => taskClientToken('inst', 's', '')).toThrow(/idempotencyKey must be a non-empty string/);
  });
});

describe('transferClientToken', () => {
  it('is deterministic, bounded and separated from task tokens', () => {
    fc.assert(
      fc.property(part, part, part, (contactId, planId, extra) => {
        // Act
        const token = transferClientToken(contactId, planId);

        // Assess
        expect(token).toBe(transferClientToken(contactId, planId));
        expect(token).toMatch(/^cti1-xfer-[0-9a-f]{64}$/);
        expect(token.slice('cti1-xfer-'.length)).not.toBe(
          taskClientToken(contactId, planId, extra).slice('cti1-task-'.length),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('distinguishes plans of one contact and contacts of one plan', () => {
    expect(transferClientToken('c-1', 'p-1')).not.toBe(transferClientToken('c-1', 'p-2'));
    expect(transferClientToken('c-1', 'p-1')).not.toBe(transferClientToken('c-2', 'p-1'));
    expect(transferClientToken('c-1p', '-1')).not.toBe(transferClientToken('c-1', 'p-1'));
  });
});
