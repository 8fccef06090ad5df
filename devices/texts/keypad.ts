/**
 * What cabinets say: the keypad's display to customers, producers and drivers, and the kiosk page
 * on the Pi's touchscreen. A cabinet's character display has 16 to 20 columns: keep these to about
 * 24 characters (the kiosk page wraps, a two-line LCD scrolls).
 */
export const en = {
  // The keypad, when a code is typed (hub/domain/keypad.ts; the bridge offline).
  'keypad.door_open': 'Door {door} open',
  'keypad.invalid': 'Invalid code',
  'keypad.throttled': 'Too many attempts, wait',
  'keypad.expired': 'Code expired',
  'keypad.not_yet_valid': 'Code not valid yet',
  'keypad.quarantined': 'Parcel held: temperature',
  'keypad.busy': 'Door in use, try again',
  'keypad.goods_left': 'Goods still inside',
  'keypad.nothing_in': 'Nothing deposited',
  // The keypad to a driver (hub/domain/transit.ts).
  'driver.collect': '{doors, plural, one {Collect: # door open} other {Collect: # doors open}}',
  'driver.deliver': '{parcels, plural, one {Scan # parcel to deliver} other {Scan # parcels to deliver}}',
  'driver.nothing': 'Nothing for you here',
  'driver.check_parcel': 'Check this parcel',
  // The hub rerouted the parcel to another locker of the site, which expects it now.
  'driver.full_go': 'Full: go to locker {locker}',
  'driver.full_call': 'Full: call the operator',
  // A parcel in the driver's van scanned where it is not going.
  'driver.goes_to': 'Not here: go to {place}',
  // The kiosk page on the Pi's touchscreen (firmware-bridge/kiosk).
  'kiosk.idle': 'Enter your code',
  'kiosk.keypad': 'Keypad',
  'kiosk.entered': 'Code entered',
  'kiosk.clear': 'Clear',
  'kiosk.out_of_order': 'Out of order, sorry',
} as const;

export const fr: Record<keyof typeof en, string> = {
  'keypad.door_open': 'Porte {door} ouverte',
  'keypad.invalid': 'Code invalide',
  'keypad.throttled': 'Trop d’essais, patientez',
  'keypad.expired': 'Code expiré',
  'keypad.not_yet_valid': 'Code pas encore valable',
  'keypad.quarantined': 'Colis retenu : température',
  'keypad.busy': 'Porte occupée, réessayez',
  'keypad.goods_left': 'Colis encore dedans',
  'keypad.nothing_in': 'Rien n’a été déposé',
  'driver.collect': '{doors, plural, one {Collecte : # porte ouverte} other {Collecte : # portes ouvertes}}',
  'driver.deliver': '{parcels, plural, one {Scannez # colis à livrer} other {Scannez # colis à livrer}}',
  'driver.nothing': 'Rien pour vous ici',
  'driver.check_parcel': 'Vérifiez ce colis',
  'driver.full_go': 'Plein : allez au casier {locker}',
  'driver.full_call': 'Plein : appelez l’exploitant',
  'driver.goes_to': 'Pas ici : allez à {place}',
  'kiosk.idle': 'Tapez votre code',
  'kiosk.keypad': 'Clavier',
  'kiosk.entered': 'Code saisi',
  'kiosk.clear': 'Effacer',
  'kiosk.out_of_order': 'Hors service, désolé',
};
