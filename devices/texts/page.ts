/**
 * The customer's parcel page (hub/api/customer-page.ts), reached by the link in their notices or
 * the QR code on their label: where and how to collect, the window, the code on request, the
 * journey's temperatures. Read on a phone, by someone who never saw casier: plain words, no jargon.
 * `{time}` is a moment already written in the site's zone (devices/i18n.ts `when`); `{duration}`
 * is `page.duration`'s text; `{range}` is `page.range`'s or `page.range_max`'s.
 */
export const en = {
  'page.title': 'Your parcel',
  'page.reference': 'Order {reference}',
  'page.coming': 'Your parcel is on its way to {site}.',
  'page.coming_locker': 'You will collect it from locker {locker}. We will tell you when it is ready.',
  'page.coming_site': 'We will tell you when it is ready, and which locker to open.',
  'page.ready': 'Your parcel is ready to collect at {site}.',
  'page.where': 'Locker {locker}, door {door}',
  'page.how':
    'Type your code on the keypad of locker {locker}: door {door} opens. Take your parcel and close the door behind you.',
  'page.until': 'Collect it before {time}.',
  'page.extend': 'Extend by {hours, plural, one {# hour} other {# hours}}',
  'page.extend_left':
    '{left, plural, one {You can extend this time once.} other {You can extend this time # times.}}',
  'page.extended': 'Extended: you now have until {time}.',
  'page.not_extended': 'The time to collect could not be extended.',
  'page.show_code': 'Show my code',
  'page.code': 'Your code',
  'page.code_note': 'Keep it to yourself: it opens the door once.',
  'page.code_refused': 'Your code can no longer be shown: the parcel is not waiting for you any more.',
  'page.held': 'Your parcel is held for a temperature check. We will tell you when you can collect it.',
  'page.expired':
    'The time to collect your parcel ended on {time}. The shop you ordered from has been told and will contact you.',
  'page.never_arrived':
    'Your parcel never reached the locker. The shop you ordered from has been told and will contact you.',
  'page.cancelled': 'This order was cancelled by the shop. There is nothing to collect.',
  'page.withdrawn':
    'Your parcel is no longer in the locker. The shop you ordered from has been told and will contact you.',
  'page.collected': 'Collected on {time}. Thank you!',
  'page.journey': 'Its journey',
  'page.kept': 'Kept between {min, number, ::.0} and {max, number, ::.0} °C for {duration}.',
  'page.no_readings': 'No temperature was recorded on its journey.',
  'page.verdict_ok': 'Within its limits ({range}) the whole time.',
  'page.verdict_excursion':
    'It spent {duration} outside its limits ({range}), not long enough for it to be held back.',
  'page.verdict_excursion_brief':
    'It went briefly outside its limits ({range}), not long enough for it to be held back.',
  'page.verdict_breached': 'It went past its limits ({range}) on the way. The shop has been told.',
  'page.verdict_unknown':
    'Nothing outside its limits ({range}) was seen, but we cannot vouch for the time no sensor watched it.',
  'page.van': 'Besides, {duration} in a van between lockers, where no sensor watched it.',
  'page.unwatched': 'Besides, {duration} in a locker without a temperature reading.',
  'page.range': '{min, number, ::.0} to {max, number, ::.0} °C',
  'page.range_max': 'at most {max, number, ::.0} °C',
  'page.duration':
    '{days, plural, =0 {} one {# day } other {# days }}{hours, plural, =0 {} other {# h }}{minutes} min',
  'page.under_a_minute': 'less than a minute',
  'page.not_found_title': 'Link not found',
  'page.not_found': 'This link leads to no parcel. Check that you copied all of it.',
} as const;

export const fr: Record<keyof typeof en, string> = {
  'page.title': 'Votre colis',
  'page.reference': 'Commande {reference}',
  'page.coming': 'Votre colis est en route vers {site}.',
  'page.coming_locker': 'Vous le retirerez au casier {locker}. Nous vous préviendrons quand il sera prêt.',
  'page.coming_site': 'Nous vous préviendrons quand il sera prêt, et du casier où le retirer.',
  'page.ready': 'Votre colis est prêt à retirer à {site}.',
  'page.where': 'Casier {locker}, porte {door}',
  'page.how':
    'Tapez votre code sur le clavier du casier {locker} : la porte {door} s’ouvre. Prenez votre colis et refermez la porte derrière vous.',
  'page.until': 'À retirer avant le {time}.',
  'page.extend': 'Prolonger de {hours, plural, one {# heure} other {# heures}}',
  'page.extend_left':
    '{left, plural, one {Vous pouvez prolonger ce délai une fois.} other {Vous pouvez prolonger ce délai # fois.}}',
  'page.extended': 'Prolongé : vous avez jusqu’au {time}.',
  'page.not_extended': 'Le délai de retrait n’a pas pu être prolongé.',
  'page.show_code': 'Afficher mon code',
  'page.code': 'Votre code',
  'page.code_note': 'Gardez-le pour vous : il ouvre la porte une fois.',
  'page.code_refused': 'Votre code ne peut plus être affiché : le colis ne vous attend plus.',
  'page.held':
    'Votre colis est retenu pour un contrôle de température. Nous vous préviendrons quand vous pourrez le retirer.',
  'page.expired':
    'Le délai pour retirer votre colis a pris fin le {time}. La boutique où vous avez commandé est prévenue et vous contactera.',
  'page.never_arrived':
    'Votre colis n’est jamais arrivé au casier. La boutique où vous avez commandé est prévenue et vous contactera.',
  'page.cancelled': 'Cette commande a été annulée par la boutique. Il n’y a rien à retirer.',
  'page.withdrawn':
    'Votre colis n’est plus dans le casier. La boutique où vous avez commandé est prévenue et vous contactera.',
  'page.collected': 'Retiré le {time}. Merci !',
  'page.journey': 'Son trajet',
  'page.kept': 'Conservé entre {min, number, ::.0} et {max, number, ::.0} °C pendant {duration}.',
  'page.no_readings': 'Aucune température n’a été relevée pendant son trajet.',
  'page.verdict_ok': 'Dans ses limites ({range}) tout du long.',
  'page.verdict_excursion':
    'Il est resté {duration} hors de ses limites ({range}), trop peu pour être retenu.',
  'page.verdict_excursion_brief':
    'Il est sorti brièvement de ses limites ({range}), trop peu pour être retenu.',
  'page.verdict_breached': 'Il a dépassé ses limites ({range}) en chemin. La boutique est prévenue.',
  'page.verdict_unknown':
    'Rien hors de ses limites ({range}) n’a été vu, mais nous ne pouvons rien garantir pour le temps où aucune sonde ne le surveillait.',
  'page.van':
    'En outre, {duration} dans une camionnette entre deux casiers, où aucune sonde ne le surveillait.',
  'page.unwatched': 'En outre, {duration} dans un casier sans relevé de température.',
  'page.range': '{min, number, ::.0} à {max, number, ::.0} °C',
  'page.range_max': 'au plus {max, number, ::.0} °C',
  'page.duration':
    '{days, plural, =0 {} one {# jour } other {# jours }}{hours, plural, =0 {} other {# h }}{minutes} min',
  'page.under_a_minute': 'moins d’une minute',
  'page.not_found_title': 'Lien introuvable',
  'page.not_found': 'Ce lien ne mène à aucun colis. Vérifiez que vous l’avez copié en entier.',
};
