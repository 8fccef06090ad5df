/** Input devices attached to the Pi: Linux input events for keypads and scanners in keyboard mode. */
export * from './evdev.ts';
