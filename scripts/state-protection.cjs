/**
 * The protection of the state that cannot be rebuilt (the rules, ledger and transfers tables and the
 * DLQ), and which tables the functions use, from the stage's params. See docs/DEPLOY.md, "Protected
 * state" and "Restore a table".
 *
 * - `deletionPolicy`: the `stateDeletionPolicy` param, `Retain` (default) or `Delete` (throwaway
 *   stages), for DeletionPolicy and UpdateReplacePolicy of those resources.
 * - `deletionProtection`: DynamoDB deletion protection of those tables, on exactly when they are
 *   retained. A protected table with `Delete` would make `serverless remove` fail on it, so the two
 *   are one choice.
 * - `tables`: for each of rules, ledger and transfers, the `name` and `arn` the functions' environment,
 *   IAM statements and stack outputs use (transfers also `statusDueIndexArn`, the ledger
 *   `pendingIndexArn`). Empty
 *   `restored<Table>Table` param: the stack's own table (Ref / GetAtt). A table name: that table (a
 *   point-in-time restore), while the stack's own table stays where it is.
 *
 * serverless.yml reads them once under `custom` (`${file(./scripts/state-protection.cjs):...}`).
 */
'use strict';

const { withVariables } = require('./resolve-variables.cjs');

const POLICIES = ['Retain', 'Delete'];
/** DynamoDB table names: 3-255 of letters, digits, `_`, `-` and `.`. */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

/** The logical id of each protected table and the param that may point the stage at a restored copy. */
const TABLES = {
  rules: { logicalId: 'RulesTable', param: 'restoredRulesTable' },
  ledger: { logicalId: 'LedgerTable', param: 'restoredLedgerTable' },
  transfers: { logicalId: 'TransfersTable', param: 'restoredTransfersTable' },
};
const STATUS_DUE_INDEX = 'byStatusDue';
const PENDING_INDEX = 'byPending';

function deletionPolicy(value) {
  const policy = value === undefined || value === null ? '' : String(value).trim();
  if (!POLICIES.includes(policy)) {
    throw new Error(`stateDeletionPolicy must be Retain or Delete (got "${policy}")`);
  }
  return policy;
}

function restoredName(param, value) {
  const name = value === undefined || value === null ? '' : String(value).trim();
  if (name !== '' && !TABLE_NAME.test(name)) {
    throw new Error(
      `${param} must be empty or a DynamoDB table name (3-255 of A-Z a-z 0-9 _ - .), got "${name}"`,
    );
  }
  return name;
}

/** Name and ARN intrinsics of one table: the stack's own, or the restored table named by its param. */
function tableRefs(logicalId, restored) {
  if (restored === '') {
    return {
      name: { Ref: logicalId },
      arn: { 'Fn::GetAtt': [logicalId, 'Arn'] },
      indexArn: (index) => ({ 'Fn::Sub': `\${${logicalId}.Arn}/index/${index}` }),
    };
  }
  const arn = `arn:\${AWS::Partition}:dynamodb:\${AWS::Region}:\${AWS::AccountId}:table/${restored}`;
  return {
    name: restored,
    arn: { 'Fn::Sub': arn },
    indexArn: (index) => ({ 'Fn::Sub': `${arn}/index/${index}` }),
  };
}

/**
 * `{ rules, ledger, transfers }`, each `{ name, arn }`; transfers also `statusDueIndexArn`, the ledger
 * `pendingIndexArn`.
 */
function stateTables(restored) {
  const out = {};
  for (const [key, { logicalId, param }] of Object.entries(TABLES)) {
    const { name, arn, indexArn } = tableRefs(logicalId, restoredName(param, restored[param]));
    out[key] = { name, arn };
    if (key === 'transfers') out[key].statusDueIndexArn = indexArn(STATUS_DUE_INDEX);
    if (key === 'ledger') out[key].pendingIndexArn = indexArn(PENDING_INDEX);
  }
  return out;
}

const params = Object.values(TABLES).map(({ param }) => param);

module.exports = {
  deletionPolicy({ resolveVariable }) {
    return withVariables(resolveVariable, ['param:stateDeletionPolicy'], ([v]) => deletionPolicy(v));
  },
  deletionProtection({ resolveVariable }) {
    return withVariables(
      resolveVariable,
      ['param:stateDeletionPolicy'],
      ([v]) => deletionPolicy(v) === 'Retain',
    );
  },
  tables({ resolveVariable }) {
    return withVariables(
      resolveVariable,
      params.map((param) => `param:${param}`),
      (values) => stateTables(Object.fromEntries(params.map((param, i) => [param, values[i]]))),
    );
  },
};
