/** Shared pieces: a modal dialog, badges, an error line. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { CATALOGUE } from '../../devices/i18n.ts';
import type { ApiError } from './api.ts';
import { type DashboardKey, language, t } from './i18n.ts';

/** A native modal <dialog>: focus stays inside, Escape closes it. */
export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby="dialog-title"
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <h2 id="dialog-title">{props.title}</h2>
      {props.children}
    </dialog>
  );
}

export function Badge(props: { kind: string; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge badge-${props.kind}`} title={props.title}>
      {props.children}
    </span>
  );
}

/**
 * An error in the operator's language. The hub's messages are English and more precise than its
 * codes: an English reader gets them as they are, others the code's meaning with the hub's message
 * after it, marked as English.
 */
export function ErrorLine(props: { error: ApiError | Error | undefined | null }) {
  if (!props.error) return null;
  const key = `dashboard.error.${(props.error as ApiError).code}`;
  if (language() === 'en' || !(key in CATALOGUE.en))
    return (
      <p class="error" role="alert">
        {props.error.message}
      </p>
    );
  return (
    <p class="error" role="alert">
      {t(key as DashboardKey)}{' '}
      <span class="small" lang="en">
        ({props.error.message})
      </span>
    </p>
  );
}

/** What is being loaded, said in full ("Loading the parcel…"). */
export function Loading(props: { text?: string }) {
  return <p class="muted">{props.text ?? t('dashboard.loading')}</p>;
}

/**
 * An audited action that needs a reason: what it does (`children`), a reason of 3 to 500
 * characters, and `send(reason)`, whose error is shown in place; closes once it succeeds.
 */
export function ReasonDialog(props: {
  title: string;
  id: string;
  submit: string;
  danger?: boolean;
  cancel?: string;
  send: (reason: string) => Promise<unknown>;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await props.send(reason.trim());
      props.onClose();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <form onSubmit={submit}>
        <p>{props.children}</p>
        <label for={props.id}>{t('dashboard.reason')}</label>
        <textarea
          id={props.id}
          required
          minLength={3}
          maxLength={500}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
        <ErrorLine error={error} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            {props.cancel ?? t('dashboard.cancel')}
          </button>
          <button
            type="submit"
            class={props.danger ? 'danger' : 'primary'}
            disabled={reason.trim().length < 3}
          >
            {props.submit}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
