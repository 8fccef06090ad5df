// johnny-five and firmata-io ship no types; drivers/firmata.ts declares the few parts it uses.
declare module 'johnny-five';
declare module 'firmata-io';
