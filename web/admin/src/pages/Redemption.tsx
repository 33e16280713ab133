import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { unwrap } from "@tessera/client";
import { useId, useState } from "react";
import {
  ConfirmDialog,
  Empty,
  ErrorNotice,
  FactTable,
  Loading,
  RoleNote,
  Section,
  Success,
} from "../components/common";
import { formatNumber, formatTime, humanize } from "../format";
import { can, whoMay } from "../permissions";
import { href } from "../router";
import { api } from "../session";
import { useSignedIn } from "../useSession";

export function RedemptionPage({ id }: { id: string }) {
  const { claims } = useSignedIn();
  const allowed = can(claims, "cancelRedemption");
  const noteId = useId();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const redemption = useQuery({
    queryKey: ["redemption", id],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/rewards/redemptions/{redemption_id}", { params: { path: { redemption_id: id } } }),
      ),
  });
  const cancel = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/rewards/redemptions/{redemption_id}/cancel", {
          params: { path: { redemption_id: id } },
        }),
      ),
    onSuccess: async () => {
      setConfirming(false);
      await queryClient.invalidateQueries({ queryKey: ["redemption", id] });
    },
  });
  const r = redemption.data;
  const cancellable = r && r.status === "issued";
  return (
    <>
      <h1 tabIndex={-1}>Redemption</h1>
      <p className="muted">
        <a href={href("/rewards")}>Rewards</a> / <code>{id}</code>
      </p>
      {redemption.isPending ? <Loading what="the redemption" /> : null}
      <ErrorNotice error={redemption.error} context="Redemption" />
      {r ? (
        <div className="grid">
          <Section title="Details">
            <FactTable
              label="Redemption details"
              rows={[
                { name: "Reward", value: r.reward_name },
                { name: "Status", value: humanize(r.status), raw: r.status },
                { name: "Points", value: formatNumber(r.points), raw: r.points },
                { name: "Code", value: r.code ?? "—" },
                { name: "Code expires", value: formatTime(r.code_expires_at) },
                { name: "Fulfilment", value: humanize(r.fulfilment) },
                { name: "Redeemed", value: formatTime(r.created_at) },
                { name: "Used", value: r.used_at ? `${formatTime(r.used_at)} at ${r.used_store_id ?? "—"}` : "—" },
                { name: "Cancelled", value: formatTime(r.cancelled_at) },
                { name: "Failure", value: r.failure_reason ? `${r.failure_reason} ${r.failure_detail ?? ""}` : "—" },
              ]}
            />
            {cancel.isSuccess ? <Success>The redemption was cancelled: points and stock came back.</Success> : null}
            {cancellable ? (
              <div className="actions">
                <button
                  type="button"
                  className="danger"
                  disabled={!allowed}
                  aria-describedby={allowed ? undefined : noteId}
                  onClick={() => {
                    cancel.reset();
                    setConfirming(true);
                  }}
                >
                  Cancel redemption…
                </button>
              </div>
            ) : null}
            {cancellable && !allowed ? <RoleNote id={noteId} who={whoMay("cancelRedemption")} /> : null}
          </Section>
          <Section title="Steps">
            {(r.steps ?? []).length === 0 ? (
              <Empty>No steps recorded.</Empty>
            ) : (
              <table aria-label="Redemption steps">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Status</th>
                    <th scope="col">Cause</th>
                  </tr>
                </thead>
                <tbody>
                  {(r.steps ?? []).map((s, i) => (
                    <tr key={i}>
                      <td>{formatTime(s.at)}</td>
                      <td>{humanize(s.status)}</td>
                      <td>{s.cause}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
        </div>
      ) : null}
      <ConfirmDialog
        open={confirming}
        title="Cancel this redemption?"
        confirmLabel="Cancel redemption"
        danger
        busy={cancel.isPending}
        onCancel={() => setConfirming(false)}
        onConfirm={() => cancel.mutate()}
      >
        <p>The code stops working; the member gets the points back and the stock returns.</p>
        <ErrorNotice error={cancel.error} context="Not cancelled" />
      </ConfirmDialog>
    </>
  );
}
