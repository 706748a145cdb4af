#!/usr/bin/env node
/**
 * Writes `sandbox/connect/api-model.json`: the request constraints and error lists of the Connect
 * operations the sandbox emulates, taken from the Amazon Connect API model (botocore format).
 *
 * Refresh (needs Python's botocore, which CI machines do not have; the JSON file is the checked-in
 * artefact):
 *
 *   pip install botocore
 *   MODEL="$(python -c 'import botocore,os;print(os.path.dirname(botocore.__file__))')/data/connect/2017-08-08/service-2.json.gz"
 *   node scripts/connect-model.mjs "$MODEL" [botocore-version] [out]
 *
 * The botocore version defaults to the one installed beside the model (read from botocore/__init__.py).
 * The file is written as the repository's formatter writes JSON, so `biome check` accepts it as is.
 * Checked in: botocore 1.43.11, apiVersion 2017-08-08 (the file's `source` has the model's sha256).
 *
 * What is kept: for each operation its HTTP binding, its error types, and its input members resolved
 * through the shapes (type, min/max, pattern, enum, required, uri/querystring location), nested
 * structures, lists and maps included. A shape that contains itself (SegmentAttributeValue) is
 * inlined once and then named by `ref` without its constraints: the emulator does not descend further.
 *
 * Patterns: the model's patterns are Java regular expressions. They are stored converted to the
 * JavaScript `u` dialect (`patternJs`) next to the original (`pattern`): `\A` and `\z`/`\Z` become
 * `^`/`$`, possessive quantifiers (`*+`, `++`, `?+`) lose their `+`, `\p{Alnum}`-style POSIX classes
 * become explicit classes. A pattern still unreadable by JavaScript after that is stored with
 * `patternJs: null` and reported on stderr (none is, for the operations below).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const OPERATIONS = [
  'StartTaskContact',
  'TransferContact',
  'UpdateContact',
  'DescribeContact',
  'ListContactReferences',
  'StopContact',
  'CreateTaskTemplate',
  'GetTaskTemplate',
  'ListTaskTemplates',
  'UpdateTaskTemplate',
  'DeleteTaskTemplate',
];

const here = dirname(fileURLToPath(import.meta.url));
const [modelPath, versionArg, outArg] = process.argv.slice(2);
if (!modelPath) {
  console.error('usage: node scripts/connect-model.mjs <service-2.json[.gz]> [botocore-version] [out]');
  process.exit(2);
}
const out = outArg ?? join(here, '..', 'sandbox', 'connect', 'api-model.json');

const raw = readFileSync(modelPath);
const text = modelPath.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
const model = JSON.parse(text);

function botocoreVersion() {
  if (versionArg) return versionArg;
  try {
    const init = readFileSync(join(dirname(modelPath), '..', '..', '..', '__init__.py'), 'utf8');
    return /__version__\s*=\s*['"]([^'"]+)['"]/.exec(init)?.[1] ?? null;
  } catch {
    return null;
  }
}

const POSIX = {
  '\\p{Alnum}': '[A-Za-z0-9]',
  '\\p{Alpha}': '[A-Za-z]',
  '\\p{Digit}': '[0-9]',
  '\\p{Punct}': '[!-/:-@[-`{-~]',
  '\\p{Space}': '\\s',
};

/** Java regex → JavaScript (`u` flag); null when JavaScript still cannot read it. */
function toJsPattern(java) {
  let js = java.replace(/\\A/g, '^').replace(/\\[zZ]/g, '$');
  js = js.replace(/([*+?}])\+/g, '$1');
  for (const [from, to] of Object.entries(POSIX)) js = js.split(from).join(to);
  try {
    new RegExp(js, 'u');
    return js;
  } catch {
    console.error(`pattern not readable by JavaScript, stored with patternJs null: ${java}`);
    return null;
  }
}

const CONSTRAINT_KEYS = ['min', 'max', 'enum'];

function resolve(shapeName, stack) {
  const shape = model.shapes[shapeName];
  if (!shape) throw new Error(`the model has no shape ${shapeName}`);
  if (stack.includes(shapeName)) return { shape: shapeName, type: shape.type, ref: shapeName };
  const next = [...stack, shapeName];
  const node = { shape: shapeName, type: shape.type };
  for (const key of CONSTRAINT_KEYS) if (shape[key] !== undefined) node[key] = shape[key];
  if (shape.pattern !== undefined) {
    node.pattern = shape.pattern;
    node.patternJs = toJsPattern(shape.pattern);
  }
  if (shape.type === 'structure') {
    if (shape.required?.length) node.required = shape.required;
    node.members = Object.fromEntries(
      Object.entries(shape.members).map(([name, member]) => [name, memberNode(member, next)]),
    );
  } else if (shape.type === 'list') {
    node.member = resolve(shape.member.shape, next);
  } else if (shape.type === 'map') {
    node.key = resolve(shape.key.shape, next);
    node.value = resolve(shape.value.shape, next);
  }
  return node;
}

function memberNode(member, stack) {
  const node = resolve(member.shape, stack);
  if (member.location) {
    node.location = member.location;
    node.locationName = member.locationName;
  }
  return node;
}

const operations = {};
const errorTypes = new Set();
for (const name of OPERATIONS) {
  const op = model.operations[name];
  if (!op) throw new Error(`the model has no operation ${name}`);
  const errors = (op.errors ?? []).map((e) => e.shape);
  for (const e of errors) errorTypes.add(e);
  operations[name] = {
    http: { method: op.http.method, requestUri: op.http.requestUri },
    errors,
    input: resolve(op.input.shape, []),
  };
}

const errors = Object.fromEntries(
  [...errorTypes]
    .sort()
    .map((name) => [name, { httpStatus: model.shapes[name]?.error?.httpStatusCode ?? null }]),
);

const data = {
  $comment:
    'Generated by scripts/connect-model.mjs from the Amazon Connect API model (botocore format). Do not edit; regenerate.',
  source: {
    service: model.metadata.serviceId,
    apiVersion: model.metadata.apiVersion,
    protocol: model.metadata.protocol,
    botocoreVersion: botocoreVersion(),
    modelFile: 'botocore/data/connect/2017-08-08/service-2.json.gz',
    sha256: createHash('sha256').update(raw).digest('hex'),
  },
  errors,
  operations,
};

/** JSON as the repository's formatter (biome, line width 110) writes it: short scalar arrays on one line. */
function formatJson(value) {
  const text = JSON.stringify(value, null, 2);
  return text.replace(/\[\n([^[\]{}]*?)\n\s*\]/g, (match, items, offset) => {
    const lineStart = text.lastIndexOf('\n', offset) + 1;
    const flat = `[${items
      .split(',\n')
      .map((item) => item.trim())
      .join(', ')}]`;
    return offset - lineStart + flat.length + 1 <= 110 ? flat : match;
  });
}

writeFileSync(out, `${formatJson(data)}\n`);
console.log(`wrote ${out}: ${OPERATIONS.length} operations, ${errorTypes.size} error types`);
