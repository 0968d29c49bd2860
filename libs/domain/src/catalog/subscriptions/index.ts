export * from './subscription.events';
export * from './subscription.errors';
export * from './subscription';
export * from './subscription-start';
export * from './subscription.decider';
