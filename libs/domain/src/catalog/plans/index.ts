export * from './plan.events';
export * from './plan.errors';
export * from './plan';
export * from './entitlements';
export * from './metric-catalog';
export * from './plan-version';
export * from './plan.decider';
