export * from './definitions';
export * from './observer';
export * from './progress';
export * from './server';
