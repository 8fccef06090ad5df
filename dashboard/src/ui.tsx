/** Shared pieces: a modal dialog, badges, an error line. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApiError } from './api.ts';
import { t } from './i18n.ts';

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

export function ErrorLine(props: { error: ApiError | Error | undefined | null }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert">
      {props.error.message}
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
