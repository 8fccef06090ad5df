/**
 * An alarm as its site's people read it away from the dashboard: the e-mails to the site's alarm
 * contacts (hub/domain/notify/mail.ts). The kinds', levels' and advice's words are the dashboard's
 * (`dashboard.alarm.*`, `dashboard.level.*`, `dashboard.advice.*`).
 */
export const en = {
  'alarms.mail_subject': '[casier] {level}: {kind} at {place}',
  'alarms.mail_escalated': '{subject} (unacknowledged for {minutes} min)',
  'alarms.mail_title': '{level} alarm: {kind}',
  'alarms.mail_cabinet': 'Cabinet: {place}',
  'alarms.mail_raised': 'Raised: {time}',
  'alarms.mail_details': 'Details:',
  'alarms.mail_ack': 'Acknowledge it on the dashboard (alarm {id}) to stop the escalation.',
  'alarms.mail_advice': 'Advice: {advice}',
} as const;

export const fr: Record<keyof typeof en, string> = {
  'alarms.mail_subject': '[casier] {level} : {kind} à {place}',
  'alarms.mail_escalated': '{subject} (non acquittée depuis {minutes} min)',
  'alarms.mail_title': 'Alarme {level} : {kind}',
  'alarms.mail_cabinet': 'Casier : {place}',
  'alarms.mail_raised': 'Déclenchée : {time}',
  'alarms.mail_details': 'Détails :',
  'alarms.mail_ack': 'Acquittez-la sur le tableau de bord (alarme {id}) pour arrêter l’escalade.',
  'alarms.mail_advice': 'Conseil : {advice}',
};
