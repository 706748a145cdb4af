/**
 * The Connect instances of the stage (params `connectInstanceIds`, a comma-separated list that
 * defaults to `connectInstanceId`) as IAM Resource lists: serverless.yml cannot loop over a list, so
 * every Connect statement's Resource is `${file(./scripts/connect-instances.cjs):iam.<kind>}`, and
 * `ids` gives the list as one comma-separated string (the functions' CONNECT_INSTANCE_IDS).
 *
 * The framework (osls) calls the exported functions with an asynchronous resolveVariable; the
 * sandbox (common/serverless-config.ts) with a synchronous one, and gets a value synchronously.
 * The parsing lives in lib/connect/instances.ts (loaded through tsx).
 */
'use strict';

const { require: requireTs } = require('tsx/cjs/api');

const { parseInstanceIds, connectIamResources } = requireTs('../lib/connect/instances.ts', __filename);

const { withVariables } = require('./resolve-variables.cjs');

function withIds(resolveVariable, build) {
  return withVariables(resolveVariable, ['param:connectInstanceIds'], ([value]) =>
    build(parseInstanceIds(value)),
  );
}

module.exports = {
  iam({ resolveVariable }) {
    return withIds(resolveVariable, (ids) => connectIamResources(ids));
  },
  ids({ resolveVariable }) {
    return withIds(resolveVariable, (ids) => ids.join(','));
  },
};
