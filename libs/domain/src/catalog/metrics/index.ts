export * from './metric.events';
export * from './metric.errors';
export * from './metric';
export * from './metric-instant';
export * from './metric-version';
export * from './metric.decider';
export { jsonEqual } from './json-equal';
