/**
 * Generates the EventBridge Scheduler resources of `custom.taskSchedules` (serverless.yml lists
 * `${file(./scripts/task-schedules.cjs):resources}` as a second `resources` entry, which the
 * framework merges with the first; serverless.yml itself cannot loop over a list).
 *
 * The framework (osls) calls `resources({ resolveVariable })` while it resolves variables, with an
 * asynchronous resolveVariable; the sandbox (common/serverless-config.ts) calls it the same way
 * with a synchronous one, and gets the resources synchronously. The validation and the resources
 * live in lib/schedules/ (TypeScript, loaded through tsx), so the deploy, the sandbox and the CLI
 * refuse a bad schedule with the same errors.
 */
'use strict';

const { require: requireTs } = require('tsx/cjs/api');

const { parseTaskSchedules } = requireTs('../lib/schedules/declaration.ts', __filename);
const { taskScheduleResources } = requireTs('../lib/schedules/cloudformation.ts', __filename);

const { withVariables } = require('./resolve-variables.cjs');

function build(schedules, groupName) {
  return taskScheduleResources({ schedules: parseTaskSchedules(schedules), groupName: String(groupName) });
}

module.exports = {
  resources({ resolveVariable }) {
    return withVariables(
      resolveVariable,
      ['self:custom.taskSchedules', 'self:custom.taskScheduleGroupName'],
      ([schedules, groupName]) => build(schedules, groupName),
    );
  },
};
