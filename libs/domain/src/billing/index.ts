export * from './billing.errors';
export * from './canonical-json';
export * from './checksum';
export * from './calculation';
export { BILLING_ID_PATTERN } from './billing-fields';
export * from './invoices';
export * from './adjustments';
export * from './calculate';
