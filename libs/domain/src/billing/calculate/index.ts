export * from './calculation-inputs';
export * from './subscription-period';
export * from './log-usage';
export * from './pending-adjustments';
export * from './calculate-subscription';
