/**
 * Resolves Serverless variables for the `${file(./scripts/<name>.cjs):...}` resolvers of
 * serverless.yml. The framework (osls) hands them an asynchronous resolveVariable; the sandbox
 * (common/serverless-config.ts) a synchronous one and needs the value synchronously. Either way
 * `withVariables` resolves every variable, then calls `build` with the values in the same order.
 */
'use strict';

const isThenable = (value) => value !== null && typeof value === 'object' && typeof value.then === 'function';

/**
 * @param {(variable: string) => unknown} resolveVariable the framework's or the sandbox's resolver
 * @param {string[]} variables e.g. `['param:alarmTopicArn']`
 * @param {(values: unknown[]) => unknown} build
 */
function withVariables(resolveVariable, variables, build) {
  const values = variables.map((variable) => resolveVariable(variable));
  return values.some(isThenable) ? Promise.all(values).then(build) : build(values);
}

module.exports = { withVariables };
