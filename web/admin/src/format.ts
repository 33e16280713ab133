// How figures, money and times are shown.
const numbers = new Intl.NumberFormat("en-AU");

export function formatNumber(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : numbers.format(value);
}

export function formatPoints(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : `${numbers.format(value)} pts`;
}

export function signedPoints(value: number): string {
  return `${value > 0 ? "+" : ""}${numbers.format(value)}`;
}

/** The number of minor units in one unit of a currency (100 for AUD, 1 for JPY). */
export function minorUnits(currency: string): number {
  try {
    const digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits;
    return 10 ** (digits ?? 2);
  } catch {
    return 100;
  }
}

/** Minor units of `currency` as money: 12345 AUD is "A$123.45". */
export function formatMoney(amount: number | null | undefined, currency: string | null | undefined): string {
  if (amount === null || amount === undefined) return "—";
  if (!currency) return numbers.format(amount);
  try {
    return new Intl.NumberFormat("en-AU", { style: "currency", currency }).format(
      amount / minorUnits(currency),
    );
  } catch {
    return `${numbers.format(amount)} ${currency}`;
  }
}

const dateTime = new Intl.DateTimeFormat("en-AU", {
  dateStyle: "medium",
  timeStyle: "short",
});

export function formatTime(value: string | null | undefined): string {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : dateTime.format(date);
}

/** `datetime-local` input value to RFC 3339 (the browser's zone), or undefined when blank. */
export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/**
 * An id short enough for a table cell: the end of a UUID (version 7 ids begin with their time,
 * so ids made together share their first digits), the start of anything else.
 */
export function shortId(id: string): string {
  if (UUID.test(id)) return `…${id.slice(-8)}`;
  return id.length > 14 ? `${id.slice(0, 13)}…` : id;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The same, for an input's `pattern` attribute. */
export const UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

export function humanize(value: string): string {
  const text = value.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}
