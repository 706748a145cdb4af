import { describe, expect, it } from 'vitest';
import { PARK_MARGIN_RECEIVES, parkingReceive, taskWaitReceive } from '#lib/ingest/receives.ts';

describe('parkingReceive', () => {
  it('keeps two receives back from the queue’s maxReceiveCount', () => {
    expect(PARK_MARGIN_RECEIVES).toBe(2);
    expect(parkingReceive(8)).toBe(6);
    expect(parkingReceive(1000)).toBe(998);
  });

  it('parks on the first receive when the queue allows too few to keep any back', () => {
    expect(parkingReceive(3)).toBe(1);
    expect(parkingReceive(2)).toBe(1);
    expect(parkingReceive(1)).toBe(1);
  });
});

describe('taskWaitReceive', () => {
  it('parks a missing create one receive before the parking receive', () => {
    expect(taskWaitReceive(8)).toBe(5);
    expect(taskWaitReceive(5)).toBe(2);
    expect(taskWaitReceive(4)).toBe(1);
    expect(taskWaitReceive(1)).toBe(1);
  });
});
