/**
 * One module per AWS client (connect.ts, sqs.ts, dynamodb.ts), so a function's bundle carries only
 * the SDKs it calls. `AWS_ENDPOINT_URL` (set by the sandbox) is honoured by the SDK itself.
 *
 * @deprecated Import from `#lib/aws/connect.ts`; this re-export keeps the bench and test support
 * compiling until they move.
 */
export { type ConnectClientOptions, createConnectClient } from './connect.ts';
