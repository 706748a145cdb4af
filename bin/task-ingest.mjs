#!/usr/bin/env node
// The `task-ingest` CLI. The sources are TypeScript: tsx's ESM loader is registered first, then
// the CLI runs (see cli/main.ts for commands and exit codes).
import { register } from 'tsx/esm/api';

// Local tooling may run on Node 20; the SDK's Node 22 notice is noise for a CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('../cli/main.ts');
await main();
