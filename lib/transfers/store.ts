/**
 * The transfer store, re-exported for importers outside lib/transfers: the port (store/port.ts),
 * its errors (store/errors.ts), the record codec (store/codec.ts) and the DynamoDB adapter
 * (store/dynamo-store.ts).
 */
export * from './store/codec.ts';
export * from './store/dynamo-store.ts';
export * from './store/errors.ts';
export * from './store/port.ts';
