/** The errors of the task schedules. */
import { serviceError } from '#lib/errors.ts';

/** A schedule expression (`cron(...)`, `rate(...)`, `at(...)`) EventBridge Scheduler would refuse. */
export class ScheduleExpressionError extends serviceError('ScheduleExpressionError', true) {}

/** `custom.taskSchedules` holds invalid entries; `errors` lists every problem of every entry. */
export class TaskScheduleError extends serviceError('TaskScheduleError', true) {
  constructor(
    where: string,
    readonly errors: readonly string[],
  ) {
    super(
      `${where}: ${errors.length} invalid ${errors.length === 1 ? 'entry' : 'entries'}:\n  ${errors.join('\n  ')}`,
    );
  }
}
