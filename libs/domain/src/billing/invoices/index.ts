export * from './invoice.events';
export * from './invoice';
export * from './invoice-number';
export * from './invoice-close';
export * from './invoice.decider';
