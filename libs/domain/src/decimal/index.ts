export * from './decimal';
export * from './field-error';
export * from './parse-decimal';
export * from './json-number-text';
