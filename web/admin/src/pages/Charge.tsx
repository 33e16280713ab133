import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { unwrap, type Schema } from "@tessera/client";
import { useId, useState, type FormEvent } from "react";
import {
  Empty,
  ErrorNotice,
  FactTable,
  Loading,
  RoleNote,
  Section,
  Success,
  useIdempotencyKey,
} from "../components/common";
import { formatMoney, formatTime, humanize, minorUnits } from "../format";
import { can, whoMay } from "../permissions";
import { href } from "../router";
import { api } from "../session";
import { useSignedIn } from "../useSession";

export function ChargePage({ id }: { id: string }) {
  const charge = useQuery({
    queryKey: ["charge", id],
    queryFn: () =>
      unwrap(api.GET("/api/v1/payments/charges/{charge_id}", { params: { path: { charge_id: id } } })),
  });
  const refunds = useQuery({
    queryKey: ["charge", id, "refunds"],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/payments/charges/{charge_id}/refunds", {
          params: { path: { charge_id: id }, query: { limit: 100 } },
        }),
      ),
  });
  const c = charge.data;
  return (
    <>
      <h1 tabIndex={-1}>Charge</h1>
      <p className="muted">
        <a href={href("/payments")}>Payments</a> / <code>{id}</code>
      </p>
      <div className="grid">
        <Section title="Details">
          {charge.isPending ? <Loading what="the charge" /> : null}
          <ErrorNotice error={charge.error} context="Charge" />
          {c ? (
            <FactTable
              label="Charge details"
              rows={[
                { name: "Status", value: humanize(c.status), raw: c.status },
                { name: "Amount", value: formatMoney(c.amount, c.currency), raw: c.amount },
                { name: "Refunded", value: formatMoney(c.amount_refunded, c.currency), raw: c.amount_refunded },
                { name: "Kind", value: humanize(c.kind) },
                {
                  name: "Member",
                  value: (
                    <a href={href(`/members/${c.member_id}`)}>
                      <code>{c.member_id}</code>
                    </a>
                  ),
                },
                { name: "Description", value: c.description ?? "—" },
                { name: "Payment method", value: c.payment_method },
                {
                  name: "Card",
                  value: c.card_brand || c.card_last4 ? `${c.card_brand ?? "card"} •••• ${c.card_last4 ?? "????"}` : "—",
                },
                { name: "PSP", value: c.psp },
                { name: "PSP reference", value: c.psp_reference ?? "—" },
                {
                  name: "Failure",
                  value: c.failure_code ? `${c.failure_code}: ${c.failure_message ?? ""}` : "—",
                },
                { name: "Created", value: formatTime(c.created_at) },
                { name: "Last change", value: formatTime(c.updated_at) },
              ]}
            />
          ) : null}
        </Section>
        {c ? <Refund charge={c} /> : null}
      </div>
      <Section title="Refunds">
        {refunds.isPending ? <Loading what="refunds" /> : null}
        <ErrorNotice error={refunds.error} context="Refunds" />
        {refunds.data && refunds.data.items.length === 0 ? <Empty>No refunds.</Empty> : null}
        {refunds.data && refunds.data.items.length > 0 ? (
          <table aria-label="Refunds">
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Amount</th>
                <th scope="col">Status</th>
                <th scope="col">Reason</th>
                <th scope="col">Failure</th>
                <th scope="col">Last change</th>
              </tr>
            </thead>
            <tbody>
              {refunds.data.items.map((r) => (
                <tr key={r.id}>
                  <td>{formatTime(r.created_at)}</td>
                  <td className="num">{formatMoney(r.amount, r.currency)}</td>
                  <td>{humanize(r.status)}</td>
                  <td>{r.reason ?? "—"}</td>
                  <td>{r.failure_reason ?? "—"}</td>
                  <td>{formatTime(r.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Section>
    </>
  );
}

function Refund({ charge }: { charge: Schema<"ChargeView"> }) {
  const { claims } = useSignedIn();
  const queryClient = useQueryClient();
  const allowed = can(claims, "moveMoney");
  const noteId = useId();
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const [key, renewKey] = useIdempotencyKey();
  const left = charge.amount - charge.amount_refunded;
  const unit = minorUnits(charge.currency);
  const refund = useMutation({
    mutationFn: (body: Schema<"CreateRefundRequest">) =>
      unwrap(
        api.POST("/api/v1/payments/charges/{charge_id}/refunds", {
          params: { path: { charge_id: charge.id }, header: { "Idempotency-Key": key } },
          body,
        }),
      ),
    onSuccess: async () => {
      renewKey();
      setAmount("");
      setReason("");
      await queryClient.invalidateQueries({ queryKey: ["charge", charge.id] });
      await queryClient.invalidateQueries({ queryKey: ["charges"] });
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const minor = amount ? Math.round(Number(amount) * unit) : null;
    refund.mutate({ amount: minor, reason: reason.trim() || null });
  }

  const refundable = charge.status === "succeeded" && left > 0;
  return (
    <Section title="Refund">
      {!refundable ? (
        <Empty>
          {charge.status === "succeeded" ? "Everything has been refunded." : "Only a succeeded charge can be refunded."}
        </Empty>
      ) : (
        <form onSubmit={submit} className="stack" aria-label="Refund">
          <p>Up to {formatMoney(left, charge.currency)} can be refunded.</p>
          <label>
            Amount ({charge.currency})
            <input
              type="number"
              min={1 / unit}
              step={1 / unit}
              max={left / unit}
              disabled={!allowed}
              placeholder={`${left / unit} (everything left)`}
              value={amount}
              onChange={(e) => {
                setAmount(e.target.value);
                renewKey();
              }}
            />
          </label>
          <label>
            Refund reason
            <input
              disabled={!allowed}
              value={reason}
              onChange={(e) => {
                setReason(e.target.value);
                renewKey();
              }}
            />
          </label>
          <div className="actions">
            <button
              type="submit"
              className="primary"
              disabled={!allowed || refund.isPending}
              aria-describedby={allowed ? undefined : noteId}
            >
              {refund.isPending ? "Refunding…" : "Refund"}
            </button>
          </div>
          {!allowed ? <RoleNote id={noteId} who={whoMay("moveMoney")} /> : null}
        </form>
      )}
      <ErrorNotice error={refund.error} context="Not refunded" />
      {refund.data ? (
        <Success>
          Refund of {formatMoney(refund.data.amount, refund.data.currency)}: {humanize(refund.data.status)}.
        </Success>
      ) : null}
    </Section>
  );
}
