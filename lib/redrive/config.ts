/**
 * @deprecated The redrive's configuration is read by `redriveConfigFromEnv` in lib/config.ts; this
 * re-export keeps the chaos harness compiling until it imports from there.
 */
export { type RedriveConfig, redriveConfigFromEnv } from '#lib/config.ts';
