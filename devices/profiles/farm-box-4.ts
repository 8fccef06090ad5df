import type { z } from 'zod';
import type { lockerProfile } from './schema.ts';

/**
 * A small farm-gate box built around an Arduino Uno running StandardFirmata: relays on D2-D5
 * release the locks, door contacts on D6-D9 (switch to ground, pull-ups on: a closed door reads
 * low), TMP36 sensors on A0-A1 for the two chilled doors. The keypad is a USB keypad on the Pi.
 */
export const farmBox4: z.input<typeof lockerProfile> = {
  name: 'farm-box-4',
  description: 'Farm-gate box, 4 doors: 2 chilled M, 2 ambient L (Arduino with Firmata)',
  board: 'firmata',
  keypad: true,
  scanner: false,
  inputs: [
    {
      kind: 'keypad',
      source: 'evdev',
      path: '/dev/input/by-path/platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.3:1.0-event-kbd',
    },
  ],
  sensors: [
    { id: 't1', kind: 'tmp36', channel: { channel: 0 } },
    { id: 't2', kind: 'tmp36', channel: { channel: 1 } },
  ],
  compartments: [
    {
      door: 1,
      size: 'M',
      temperatureClass: 'chilled',
      sensor: 't1',
      lock: { channel: 2 },
      contact: { channel: 6 },
      layout: { col: 0, row: 0, rows: 1 },
    },
    {
      door: 2,
      size: 'M',
      temperatureClass: 'chilled',
      sensor: 't2',
      lock: { channel: 3 },
      contact: { channel: 7 },
      layout: { col: 1, row: 0, rows: 1 },
    },
    {
      door: 3,
      size: 'L',
      temperatureClass: 'ambient',
      lock: { channel: 4 },
      contact: { channel: 8 },
      layout: { col: 0, row: 1, rows: 2 },
    },
    {
      door: 4,
      size: 'L',
      temperatureClass: 'ambient',
      lock: { channel: 5 },
      contact: { channel: 9 },
      layout: { col: 1, row: 1, rows: 2 },
    },
  ],
};
