import { idempotencyKey, isProblem, TesseraApiError } from "@tessera/client";
import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from "react";

/** An error as the API described it: the problem's title, its detail and any field errors. */
export function ErrorNotice({ error, context }: { error: unknown; context?: string }) {
  if (!error) return null;
  let title = "Something went wrong";
  let detail: string | undefined;
  let fields: { field: string; message: string }[] = [];
  if (error instanceof TesseraApiError) {
    title = error.problem?.title ?? `The service answered ${error.status}`;
    detail = error.problem?.detail;
    fields = error.problem?.errors ?? [];
  } else if (isProblem(error)) {
    title = error.title;
    detail = error.detail;
    fields = error.errors ?? [];
  } else if (error instanceof Error) {
    title = error.message;
  }
  return (
    <div role="alert" className="notice notice-error">
      <p className="notice-title">
        {context ? `${context}: ` : ""}
        {title}
      </p>
      {detail ? <p className="notice-detail">{detail}</p> : null}
      {fields.length > 0 ? (
        <ul>
          {fields.map((f) => (
            <li key={`${f.field}:${f.message}`}>
              <code>{f.field}</code>: {f.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function Success({ children }: { children: ReactNode }) {
  return (
    <p role="status" className="notice notice-ok">
      {children}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" aria-live="polite" className="muted">
      Loading {what}…
    </p>
  );
}

/** Why a control is disabled for the signed-in role. */
export function RoleNote({ id, who }: { id: string; who: string }) {
  return (
    <p id={id} className="muted role-note">
      Only {who} can do this.
    </p>
  );
}

/** A machine-readable figure: `<data value="1234">1,234</data>`. */
export function Figure({ value, children }: { value: number | string; children?: ReactNode }) {
  return <data value={String(value)}>{children ?? String(value)}</data>;
}

/** Label/value pairs as a two-column table, so each row is found by its label. */
export function FactTable({
  label,
  rows,
}: {
  label: string;
  rows: { name: string; value: ReactNode; raw?: number | string | null }[];
}) {
  return (
    <table className="facts" aria-label={label}>
      <tbody>
        {rows.map((row) => (
          <tr key={row.name}>
            <th scope="row">{row.name}</th>
            <td>
              {row.raw !== undefined && row.raw !== null ? (
                <Figure value={row.raw}>{row.value}</Figure>
              ) : (
                row.value
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * One Idempotency-Key per intended write: the same key while the write is retried (after a
 * network error, say), a fresh one once it succeeded or its input changed.
 */
export function useIdempotencyKey(): [string, () => void] {
  const [key, setKey] = useState(idempotencyKey);
  const renew = useCallback(() => setKey(idempotencyKey()), []);
  return [key, renew];
}

/** A modal confirmation (the native dialog element: focus is trapped, Escape cancels). */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
  busy,
  danger,
  confirmDisabled,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
  busy?: boolean;
  danger?: boolean;
  confirmDisabled?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      <div className="dialog-body">{children}</div>
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button
          type="button"
          className={danger ? "danger" : "primary"}
          disabled={busy || confirmDisabled}
          onClick={onConfirm}
        >
          {busy ? "Working…" : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function Section({
  title,
  children,
  actions,
}: {
  title: string;
  children: ReactNode;
  actions?: ReactNode;
}) {
  const id = useId();
  return (
    <section aria-labelledby={id} className="card">
      <div className="section-head">
        <h2 id={id}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="muted empty">{children}</p>;
}

export function LoadMore({
  hasMore,
  loading,
  onClick,
  what,
}: {
  hasMore: boolean;
  loading: boolean;
  onClick: () => void;
  what: string;
}) {
  if (!hasMore) return null;
  return (
    <button type="button" onClick={onClick} disabled={loading}>
      {loading ? "Loading…" : `Load more ${what}`}
    </button>
  );
}
