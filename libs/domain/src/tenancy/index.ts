export * from './tenancy.events';
export * from './tenancy.errors';
export * from './tenant-registry.decider';
export * from './api-keys.decider';
export * from './tenant-settings';
