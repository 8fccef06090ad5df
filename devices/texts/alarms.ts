/**
 * An alarm as its site's people read it away from the dashboard: the e-mails to the site's alarm
 * contacts (hub/domain/notify/mail.ts), and the cold chain's advice, which the dashboard shows
 * too. The kinds' and levels' names are the dashboard's (`dashboard.alarm.*`, `dashboard.level.*`).
 */
export const en = {
  'alarms.mail_subject': '[casier] {level}: {kind} at {place}',
  'alarms.mail_escalated': '{subject} (unacknowledged for {minutes} min)',
  'alarms.mail_title': '{level} alarm: {kind}',
  'alarms.mail_cabinet': 'Cabinet: {place}',
  'alarms.mail_raised': 'Raised: {time}',
  'alarms.mail_details': 'Details:',
  'alarms.mail_ack': 'Acknowledge it on the dashboard (alarm {id}) to stop the escalation.',
  'alarms.collect_before': 'Advice: take the goods out before {time}',
  'alarms.not_warming': 'Advice: not warming any more',
} as const;

export const fr: Record<keyof typeof en, string> = {
  'alarms.mail_subject': '[casier] {level} : {kind} à {place}',
  'alarms.mail_escalated': '{subject} (non acquittée depuis {minutes} min)',
  'alarms.mail_title': 'Alarme {level} : {kind}',
  'alarms.mail_cabinet': 'Casier : {place}',
  'alarms.mail_raised': 'Déclenchée : {time}',
  'alarms.mail_details': 'Détails :',
  'alarms.mail_ack': 'Acquittez-la sur le tableau de bord (alarme {id}) pour arrêter l’escalade.',
  'alarms.collect_before': 'Conseil : sortez les produits avant {time}',
  'alarms.not_warming': 'Conseil : ne se réchauffe plus',
};
