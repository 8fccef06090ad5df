/** The device contract shared by every part of casier: pure, no I/O. */

export * from './gs1.ts';
export * from './i18n.ts';
export * from './input/index.ts';
export * from './live.ts';
export * from './messages.ts';
export * from './offline-codes.ts';
export * from './profiles/index.ts';
export * from './serial/index.ts';
export * from './throttle.ts';
export * from './topics.ts';
