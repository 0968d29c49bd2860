export * from './event-store';
export * from './streams';
export * from './projections/projection';
