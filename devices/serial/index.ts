/** Serial wire protocols: the casier reference firmware protocol and the Kerong KR-CU16. */
export * from './casier-frame.ts';
export * from './casier-link.ts';
export * from './casier-messages.ts';
export * from './crc16.ts';
export * as krcu16 from './kr-cu16.ts';
export * from './line.ts';
