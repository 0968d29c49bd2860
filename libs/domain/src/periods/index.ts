export * from './billing-period';
export * from './proration';
export * from './time';
