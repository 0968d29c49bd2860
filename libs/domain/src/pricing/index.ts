export * from './charge';
export * from './commitment';
export * from './formula';
export * from './grouped-usage';
export * from './price-charge';
export * from './validate-charge';
