/**
 * What the hub writes to a customer (e-mail and SMS, hub/domain/notify/customer.ts): the parcel is
 * ready, the window ends soon, it ended, it was sent elsewhere. Each notice has a subject and a
 * body for e-mail, and one SMS: keep those under 160 characters once filled in with a long site
 * name and a link (test/hub/customer-texts.test.ts checks), and in characters an SMS carries
 * without switching to 70-character segments (the hub folds ê, ç, ’ and the like on the way out).
 *
 * Values: `name` (the recipient's), `site` (the pickup site's name), `locker`, `door`, `end` (the
 * window's end, in the site's zone), `hours` (left before it), `from` (the site it was going to),
 * `link` (the parcel's page).
 */
export const en = {
  'notices.ready_subject': 'Your parcel is ready at {site}',
  'notices.ready_body':
    'Hello {name},\n\nYour parcel is waiting for you at {site}, locker {locker}, door {door}. Collect it by {end} with your pickup code.\n\nWhere and how to collect it, your code and more time if you need it: {link}',
  'notices.ready_sms': '{site}: your parcel is ready, door {door}. Collect it by {end}. {link}',
  'notices.reminder_subject': 'Reminder: your parcel waits at {site} until {end}',
  'notices.reminder_body':
    'Hello {name},\n\nYour parcel is still waiting for you at {site}, locker {locker}, door {door}: {hours, plural, one {# hour} other {# hours}} left to collect it, until {end}.\n\nYour code, and more time if you need it: {link}',
  'notices.reminder_sms':
    '{site}: your parcel waits until {end} ({hours, plural, one {# hour} other {# hours}} left). {link}',
  'notices.ended_subject': 'Your parcel was not collected at {site}',
  'notices.ended_body':
    'Hello {name},\n\nThe time to collect your parcel at {site} ended {end}: your code no longer opens the door. The goods stay in the locker until they are taken back; your seller has been told and will contact you.\n\nYour parcel: {link}',
  'notices.ended_sms': '{site}: not collected by {end}, code expired. Your seller will be in touch. {link}',
  'notices.rerouted_subject': 'Your parcel goes to {site} instead',
  'notices.rerouted_body':
    'Hello {name},\n\nYour parcel will now wait for you at {site} instead of {from}. Your pickup code stays the same; we will write again when it is ready there.\n\nWhere and when: {link}',
  'notices.rerouted_sms': 'Your parcel goes to {site} instead of {from}. Same code. {link}',
  'notices.footer': 'This message was sent by the parcel lockers of {site}; replies are not read.',
} as const;

export const fr: Record<keyof typeof en, string> = {
  'notices.ready_subject': 'Votre colis est prêt à {site}',
  'notices.ready_body':
    'Bonjour {name},\n\nVotre colis vous attend à {site}, casier {locker}, porte {door}. Retirez-le avant le {end} avec votre code de retrait.\n\nOù et comment le retirer, votre code, et plus de temps s’il vous en faut : {link}',
  'notices.ready_sms': '{site} : votre colis est prêt, porte {door}. À retirer avant le {end}. {link}',
  'notices.reminder_subject': 'Rappel : votre colis vous attend à {site} jusqu’au {end}',
  'notices.reminder_body':
    'Bonjour {name},\n\nVotre colis vous attend toujours à {site}, casier {locker}, porte {door} : {hours, plural, one {il vous reste # heure} other {il vous reste # heures}} pour le retirer, jusqu’au {end}.\n\nVotre code, et plus de temps s’il vous en faut : {link}',
  'notices.reminder_sms':
    '{site} : votre colis vous attend jusqu’au {end} ({hours, plural, one {# heure restante} other {# heures restantes}}). {link}',
  'notices.ended_subject': 'Votre colis n’a pas été retiré à {site}',
  'notices.ended_body':
    'Bonjour {name},\n\nLe délai pour retirer votre colis à {site} a pris fin le {end} : votre code n’ouvre plus la porte. Le colis reste dans le casier jusqu’à ce qu’il soit repris ; votre vendeur est prévenu et vous contactera.\n\nVotre colis : {link}',
  'notices.ended_sms': '{site} : colis non retiré le {end}, code expiré. Le vendeur vous contactera. {link}',
  'notices.rerouted_subject': 'Votre colis ira à {site}',
  'notices.rerouted_body':
    'Bonjour {name},\n\nVotre colis vous attendra désormais à {site} au lieu de {from}. Votre code de retrait ne change pas ; nous vous écrirons quand il y sera prêt.\n\nOù et quand : {link}',
  'notices.rerouted_sms': 'Votre colis ira à {site} au lieu de {from}. Même code. {link}',
  'notices.footer': 'Message envoyé par les casiers de {site} ; les réponses ne sont pas lues.',
};
