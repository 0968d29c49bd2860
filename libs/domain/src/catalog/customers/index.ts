export * from './customer.events';
export * from './customer.errors';
export * from './validate-customer';
export * from './customer.decider';
