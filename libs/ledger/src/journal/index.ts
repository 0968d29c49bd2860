export * from './ledger-entry';
export * from './journal.errors';
export * from './entry-id';
export * from './validate-entry';
export * from './journal-entries';
export * from './balances';
export * from './post-entry';
export * from './journal-poster';
