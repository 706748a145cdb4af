#!/usr/bin/env node
// The `task-ingest` CLI. The sources are TypeScript: tsx's ESM loader is registered first, then
// the CLI runs (see cli/main.ts for commands and exit codes).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
await main();
