export * from './adjustment.events';
export * from './adjustment.decider';
export * from './late-usage';
