/**
 * The label printed for a parcel (hub/domain/parcel-label.ts), read by the producer who sticks it
 * on, the driver who carries it and the customer who receives it: how to keep the goods, for
 * whom, where they go, and a QR code to their page.
 */
export const en = {
  'label.class': '{class, select, chilled {CHILLED} frozen {FROZEN} other {AMBIENT}}',
  'label.keep_below': 'Keep at {max} °C or below',
  'label.keep_between': 'Keep between {min} and {max} °C',
  'label.for': 'For',
  'label.to': 'To',
  'label.locker': 'Locker {locker}',
  'label.size': 'Size {size}',
  'label.scan': 'Scan to follow this parcel',
  'label.parcel': 'Parcel {id}',
  'label.reference': 'Order {reference}',
  'label.sscc': 'SSCC {sscc}',
} as const;

export const fr: Record<keyof typeof en, string> = {
  'label.class': '{class, select, chilled {FRAIS} frozen {SURGELÉ} other {AMBIANT}}',
  'label.keep_below': 'À conserver à {max} °C maximum',
  'label.keep_between': 'À conserver entre {min} et {max} °C',
  'label.for': 'Pour',
  'label.to': 'Vers',
  'label.locker': 'Casier {locker}',
  'label.size': 'Taille {size}',
  'label.scan': 'Scannez pour suivre ce colis',
  'label.parcel': 'Colis {id}',
  'label.reference': 'Commande {reference}',
  'label.sscc': 'SSCC {sscc}',
};
