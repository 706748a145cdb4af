/**
 * Each function's bundle carries only the AWS SDK clients it calls: redrive calls SQS and reads the
 * ledger (DynamoDB), never Connect, so the Connect client (the largest) must stay out of its bundle. Bundled as serverless.yml's
 * `custom.esbuild` does (node20, ESM), without writing files; packages are left external (fast) and
 * the test reads which of them the bundled project files import.
 */
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';

/** The packages the function's project files import (what esbuild would bundle from node_modules). */
async function packagesOf(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    outfile: 'out.mjs',
    logLevel: 'silent',
  });
  const inputs = Object.values((result.metafile as Metafile).inputs);
  return [...new Set(inputs.flatMap((input) => input.imports.filter((i) => i.external).map((i) => i.path)))];
}

const fromPackage = (packages: string[], name: string) =>
  packages.filter((path) => path === name || path.startsWith(`${name}/`));

describe('function bundles', () => {
  it('leave the Connect client out of the redrive bundle', async () => {
    const inputs = await packagesOf('functions/redrive.ts');
    expect(fromPackage(inputs, '@aws-sdk/client-sqs').length).toBeGreaterThan(0);
    expect(fromPackage(inputs, '@aws-sdk/client-connect')).toEqual([]);
    expect(fromPackage(inputs, '@aws-sdk/client-eventbridge')).toEqual([]);
  });

  it('carry the Connect client in the functions that call Connect', async () => {
    const [ingest, transfer] = await Promise.all([
      packagesOf('functions/ingest.ts'),
      packagesOf('functions/transfer.ts'),
    ]);
    for (const inputs of [ingest, transfer]) {
      expect(fromPackage(inputs, '@aws-sdk/client-connect').length).toBeGreaterThan(0);
      expect(fromPackage(inputs, '@aws-sdk/client-dynamodb').length).toBeGreaterThan(0);
    }
    // Transfer never calls SQS.
    expect(fromPackage(transfer, '@aws-sdk/client-sqs')).toEqual([]);
  });
});
