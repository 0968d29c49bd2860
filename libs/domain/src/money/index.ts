export * from './allocate';
export * from './currency';
export * from './money';
