import type { z } from 'zod';
import type { lockerProfile } from './schema.ts';

/**
 * A town pickup locker on one Kerong KR-CU16 lock board (16 locks, door state read through the
 * lock bits): small ambient doors on the left, chilled and frozen in the middle, large doors on the
 * right. The middle column leaves rows 2-3 to the keypad and scanner.
 */
export const townLocker16: z.input<typeof lockerProfile> = {
  name: 'town-locker-16',
  description: 'Town pickup locker, 16 doors: 6 S + 2 M + 2 L ambient, 4 chilled, 2 frozen (KR-CU16)',
  board: 'kr-cu16',
  keypad: true,
  scanner: true,
  // The lock boards have no keypad: a USB numeric keypad and a USB scanner (keyboard mode) are
  // plugged into the Pi's upper-left and lower-left USB ports.
  inputs: [
    {
      kind: 'keypad',
      source: 'evdev',
      path: '/dev/input/by-path/platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.3:1.0-event-kbd',
    },
    {
      kind: 'scanner',
      source: 'evdev',
      path: '/dev/input/by-path/platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.4:1.0-event-kbd',
    },
  ],
  sensors: [
    { id: 't7', kind: 'ntc', channel: { channel: 0 } },
    { id: 't8', kind: 'ntc', channel: { channel: 1 } },
    { id: 't9', kind: 'ntc', channel: { channel: 2 } },
    { id: 't10', kind: 'ntc', channel: { channel: 3 } },
    { id: 't15', kind: 'ntc', channel: { channel: 4 } },
    { id: 't16', kind: 'ntc', channel: { channel: 5 } },
  ],
  compartments: [
    {
      door: 1,
      size: 'S',
      temperatureClass: 'ambient',
      lock: { board: 0, channel: 0 },
      layout: { col: 0, row: 0, rows: 1 },
    },
    {
      door: 2,
      size: 'S',
      temperatureClass: 'ambient',
      lock: { board: 0, channel: 1 },
      layout: { col: 0, row: 1, rows: 1 },
    },
    {
      door: 3,
      size: 'S',
      temperatureClass: 'ambient',
      lock: { board: 0, channel: 2 },
      layout: { col: 0, row: 2, rows: 1 },
    },
    {
      door: 4,
      size: 'S',
      temperatureClass: 'ambient',
      lock: { board: 0, channel: 3 },
      layout: { col: 0, row: 3, rows: 1 },
    },
    {
      door: 5,
      size: 'S',
      temperatureClass: 'ambient',
      lock: { board: 0, channel: 4 },
      layout: { col: 0, row: 4, rows: 1 },
    },
    {
      door: 6,
      size: 'S',
      temperatureClass: 'ambient',
      lock: { board: 0, channel: 5 },
      layout: { col: 0, row: 5, rows: 1 },
    },
    {
      door: 7,
      size: 'M',
      temperatureClass: 'chilled',
      sensor: 't7',
      lock: { board: 0, channel: 6 },
      layout: { col: 1, row: 0, rows: 1 },
    },
    {
      door: 8,
      size: 'M',
      temperatureClass: 'chilled',
      sensor: 't8',
      lock: { board: 0, channel: 7 },
      layout: { col: 1, row: 1, rows: 1 },
    },
    {
      door: 9,
      size: 'M',
      temperatureClass: 'frozen',
      sensor: 't9',
      lock: { board: 0, channel: 8 },
      layout: { col: 1, row: 4, rows: 1 },
    },
    {
      door: 10,
      size: 'M',
      temperatureClass: 'frozen',
      sensor: 't10',
      lock: { board: 0, channel: 9 },
      layout: { col: 1, row: 5, rows: 1 },
    },
    {
      door: 11,
      size: 'M',
      temperatureClass: 'ambient',
      lock: { board: 0, channel: 10 },
      layout: { col: 2, row: 0, rows: 1 },
    },
    {
      door: 12,
      size: 'M',
      temperatureClass: 'ambient',
      lock: { board: 0, channel: 11 },
      layout: { col: 2, row: 1, rows: 1 },
    },
    {
      door: 13,
      size: 'L',
      temperatureClass: 'ambient',
      lock: { board: 0, channel: 12 },
      layout: { col: 2, row: 2, rows: 2 },
    },
    {
      door: 14,
      size: 'L',
      temperatureClass: 'ambient',
      lock: { board: 0, channel: 13 },
      layout: { col: 2, row: 4, rows: 2 },
    },
    {
      door: 15,
      size: 'L',
      temperatureClass: 'chilled',
      sensor: 't15',
      lock: { board: 0, channel: 14 },
      layout: { col: 3, row: 0, rows: 3 },
    },
    {
      door: 16,
      size: 'L',
      temperatureClass: 'chilled',
      sensor: 't16',
      lock: { board: 0, channel: 15 },
      layout: { col: 3, row: 3, rows: 3 },
    },
  ],
};
