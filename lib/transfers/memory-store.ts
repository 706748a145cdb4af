/**
 * Moved: the in-memory transfer store is a test double, now test/support/memory-transfer-store.ts.
 * This re-export remains only until test/unit/transfer-invoke.test.ts imports it from there.
 */
export { InMemoryTransferStore } from '#test/support/memory-transfer-store.ts';
