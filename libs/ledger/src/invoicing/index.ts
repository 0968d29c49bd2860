export * from './invoice-store';
export * from './invoice-numbering';
export * from './close-invoice-with-number';
export * from './billing-commands';
export * from './adjustment-carriers';
