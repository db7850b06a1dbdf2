export * from './errors';
export * from './job-config';
export * from './load';
export * from './presets';
export * from './import-cnf';
