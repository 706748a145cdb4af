/** The errors of the active-task capacity. */
import { serviceError } from '#lib/errors.ts';

/**
 * The instance's slots are all taken by the service's count: parked OVER_QUOTA, no call made
 * (`classifyError` knows this class).
 */
export class ActiveTasksAtQuotaError extends serviceError('ActiveTasksAtQuota', false) {
  constructor(
    readonly instanceId: string,
    readonly used: number,
    readonly quota: number,
  ) {
    super(
      `instance ${instanceId} has ${used} of its ${quota} active-task slots taken by the service's tasks`,
    );
  }
}
