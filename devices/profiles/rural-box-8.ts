import type { z } from 'zod';
import type { lockerProfile } from './schema.ts';

/**
 * A rural drop box: 8 doors in two columns on a casier reference controller. Top row chilled
 * for dairy and meat, one frozen pair, ambient large doors at the bottom for vegetable crates.
 */
export const ruralBox8: z.input<typeof lockerProfile> = {
  name: 'rural-box-8',
  description: 'Rural drop box, 8 doors: 4 chilled M, 2 frozen M, 2 ambient L (casier controller)',
  board: 'casier',
  keypad: true,
  scanner: true,
  sensors: [
    { id: 't1', kind: 'ds18b20', channel: { channel: 0 } },
    { id: 't2', kind: 'ds18b20', channel: { channel: 1 } },
    { id: 't3', kind: 'ds18b20', channel: { channel: 2 } },
    { id: 't4', kind: 'ds18b20', channel: { channel: 3 } },
    { id: 't5', kind: 'ds18b20', channel: { channel: 4 } },
    { id: 't6', kind: 'ds18b20', channel: { channel: 5 } },
    { id: 't-amb', kind: 'sht31', channel: { channel: 6 } },
  ],
  compartments: [
    {
      door: 1,
      size: 'M',
      temperatureClass: 'chilled',
      sensor: 't1',
      lock: { channel: 0 },
      contact: { channel: 0 },
      layout: { col: 0, row: 0, rows: 1 },
    },
    {
      door: 2,
      size: 'M',
      temperatureClass: 'chilled',
      sensor: 't2',
      lock: { channel: 1 },
      contact: { channel: 1 },
      layout: { col: 1, row: 0, rows: 1 },
    },
    {
      door: 3,
      size: 'M',
      temperatureClass: 'chilled',
      sensor: 't3',
      lock: { channel: 2 },
      contact: { channel: 2 },
      layout: { col: 0, row: 1, rows: 1 },
    },
    {
      door: 4,
      size: 'M',
      temperatureClass: 'chilled',
      sensor: 't4',
      lock: { channel: 3 },
      contact: { channel: 3 },
      layout: { col: 1, row: 1, rows: 1 },
    },
    {
      door: 5,
      size: 'M',
      temperatureClass: 'frozen',
      sensor: 't5',
      lock: { channel: 4 },
      contact: { channel: 4 },
      layout: { col: 0, row: 2, rows: 1 },
    },
    {
      door: 6,
      size: 'M',
      temperatureClass: 'frozen',
      sensor: 't6',
      lock: { channel: 5 },
      contact: { channel: 5 },
      layout: { col: 1, row: 2, rows: 1 },
    },
    {
      door: 7,
      size: 'L',
      temperatureClass: 'ambient',
      sensor: 't-amb',
      lock: { channel: 6 },
      contact: { channel: 6 },
      layout: { col: 0, row: 3, rows: 2 },
    },
    {
      door: 8,
      size: 'L',
      temperatureClass: 'ambient',
      sensor: 't-amb',
      lock: { channel: 7 },
      contact: { channel: 7 },
      layout: { col: 1, row: 3, rows: 2 },
    },
  ],
};
