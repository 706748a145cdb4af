/** The errors of the task schedules. */
import { ServiceError } from '#lib/errors.ts';

/** A schedule expression (`cron(...)`, `rate(...)`, `at(...)`) EventBridge Scheduler would refuse. */
export class ScheduleExpressionError extends ServiceError {
  override readonly name: string = 'ScheduleExpressionError';
  readonly code: string = 'ScheduleExpressionError';
  readonly permanent = true;
}

/** `custom.taskSchedules` holds invalid entries; `errors` lists every problem of every entry. */
export class TaskScheduleError extends ServiceError {
  override readonly name: string = 'TaskScheduleError';
  readonly code: string = 'TaskScheduleError';
  readonly permanent = true;
  constructor(
    where: string,
    readonly errors: readonly string[],
  ) {
    super(
      `${where}: ${errors.length} invalid ${errors.length === 1 ? 'entry' : 'entries'}:\n  ${errors.join('\n  ')}`,
    );
  }
}
