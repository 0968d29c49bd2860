export * from './tenancy';
export * from './decimal';
export * from './money';
export * from './metering';
export * from './pricing';
export * from './catalog';
export * from './periods';
export * from './usage';
