/**
 * The alarms' AlarmActions and OKActions from the `alarmTopicArn` param, decided while packaging:
 * `[<topic ARN>]`, or `[]` (alarms without actions) when the param is empty. The param is known
 * before CloudFormation sees the template, so a template condition on it would always have one
 * value (cfn-lint W8003), and its unused branch would hold an empty ARN (E3033).
 *
 * serverless.yml reads it once as `custom.alarmActions` (`${file(./scripts/alarm-actions.cjs):actions}`);
 * every alarm uses `${self:custom.alarmActions}`.
 */
'use strict';

const { withVariables } = require('./resolve-variables.cjs');

/** An SNS topic ARN in any partition: `arn:aws:sns:eu-west-1:123456789012:ops-alerts`. */
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

/** `''` → no actions; an SNS topic ARN → that one topic; anything else is refused. */
function alarmActions(value) {
  const arn = value === undefined || value === null ? '' : String(value).trim();
  if (arn === '') return [];
  if (!TOPIC_ARN.test(arn)) {
    throw new Error(
      `alarmTopicArn must be empty or an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:ops-alerts (got "${arn}")`,
    );
  }
  return [arn];
}

module.exports = {
  alarmActions,
  actions({ resolveVariable }) {
    return withVariables(resolveVariable, ['param:alarmTopicArn'], ([arn]) => alarmActions(arn));
  },
};
